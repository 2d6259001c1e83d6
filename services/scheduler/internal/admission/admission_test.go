package admission

import (
	"reflect"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func queued(id, env string, order uint64) Entry {
	return Entry{Rollout: id, Environment: env, Order: order, State: contracts.StateQueued}
}

func at(d time.Duration) *time.Time { t := now.Add(d); return &t }

func TestDecide(t *testing.T) {
	running := Entry{Rollout: "a", Environment: "prod", Order: 1, State: contracts.StateRunning, Admitted: true}
	pausedActive := running
	pausedActive.State = contracts.StatePaused
	pausedNeverStarted := queued("p", "prod", 0)
	pausedNeverStarted.State = contracts.StatePaused
	later := queued("later", "prod", 0)
	later.StartAt = at(time.Hour)
	pastStart := queued("past", "prod", 5)
	pastStart.StartAt = at(-time.Hour)

	tests := []struct {
		name    string
		entries []Entry
		answers map[string]Answer
		want    Decision
	}{
		{name: "nothing waits", entries: []Entry{running}},
		{name: "free env: ask about the earliest arrival",
			entries: []Entry{queued("c", "prod", 3), queued("b", "prod", 2)},
			want:    Decision{Ask: []Ask{{Environment: "prod", Rollout: "b"}}}},
		{name: "active rollout: everyone due waits for it",
			entries: []Entry{running, queued("c", "prod", 3), queued("b", "prod", 2)},
			want: Decision{Verdicts: []Verdict{
				{Rollout: "b", Reason: "environment prod is busy with another rollout"}, {Rollout: "c", Reason: "environment prod is busy with another rollout"}}}},
		{name: "a paused active rollout still holds the environment",
			entries: []Entry{pausedActive, queued("b", "prod", 2)},
			want:    Decision{Verdicts: []Verdict{{Rollout: "b", Reason: "environment prod is busy with another rollout"}}}},
		{name: "a rollout paused before it started holds nothing and is not in line",
			entries: []Entry{pausedNeverStarted, queued("b", "prod", 2)},
			want:    Decision{Ask: []Ask{{Environment: "prod", Rollout: "b"}}}},
		{name: "start_at ahead: out of line, the next one is asked about",
			entries: []Entry{later, queued("b", "prod", 2), pastStart},
			want: Decision{
				Verdicts: []Verdict{{Rollout: "later", Until: at(time.Hour), Reason: "start_at 2026-03-01T13:00:00Z"}},
				Ask:      []Ask{{Environment: "prod", Rollout: "b"}}}},
		{name: "start_at passed: in line by arrival",
			entries: []Entry{pastStart, queued("b", "prod", 9)},
			want:    Decision{Ask: []Ask{{Environment: "prod", Rollout: "past"}}}},
		{name: "calendar allows: the head starts, the rest wait for it",
			entries: []Entry{queued("b", "prod", 2), queued("c", "prod", 3)},
			answers: map[string]Answer{"prod": {Rollout: "b", Allowed: true}},
			want: Decision{Verdicts: []Verdict{
				{Rollout: "b", Allowed: true}, {Rollout: "c", Reason: "environment prod is busy with another rollout"}}}},
		{name: "calendar refuses: all due wait for the same reason",
			entries: []Entry{queued("b", "prod", 2), queued("c", "prod", 3)},
			answers: map[string]Answer{"prod": {Rollout: "b", Until: at(time.Hour), Reason: "freeze: xmas until x"}},
			want: Decision{Verdicts: []Verdict{
				{Rollout: "b", Until: at(time.Hour), Reason: "freeze: xmas until x"},
				{Rollout: "c", Until: at(time.Hour), Reason: "freeze: xmas until x"}}}},
		{name: "a window blocks: only the head asked about is marked blocked",
			entries: []Entry{queued("b", "prod", 2), queued("c", "prod", 3)},
			answers: map[string]Answer{"prod": {Rollout: "b", Until: at(time.Hour), Reason: "freeze: xmas until x", Blocked: true}},
			want: Decision{Verdicts: []Verdict{
				{Rollout: "b", Until: at(time.Hour), Reason: "freeze: xmas until x", Blocked: true},
				{Rollout: "c", Until: at(time.Hour), Reason: "freeze: xmas until x"}}}},
		{name: "an operator's override starts the head without asking the calendar",
			entries: []Entry{{Rollout: "b", Environment: "prod", Order: 2, State: contracts.StateQueued, Exempt: true}, queued("c", "prod", 3)},
			want: Decision{Verdicts: []Verdict{
				{Rollout: "b", Allowed: true, Override: true}, {Rollout: "c", Reason: "environment prod is busy with another rollout"}}}},
		{name: "an override does not jump the line",
			entries: []Entry{queued("b", "prod", 2), {Rollout: "c", Environment: "prod", Order: 3, State: contracts.StateQueued, Exempt: true}},
			want:    Decision{Ask: []Ask{{Environment: "prod", Rollout: "b"}}}},
		{name: "a stale answer about another head is asked again",
			entries: []Entry{queued("b", "prod", 2)},
			answers: map[string]Answer{"prod": {Rollout: "z", Allowed: true}},
			want:    Decision{Ask: []Ask{{Environment: "prod", Rollout: "b"}}}},
		{name: "environments are independent and sorted",
			entries: []Entry{queued("x", "qa", 7), running, queued("b", "prod", 2)},
			want: Decision{
				Verdicts: []Verdict{{Rollout: "b", Reason: "environment prod is busy with another rollout"}},
				Ask:      []Ask{{Environment: "qa", Rollout: "x"}}}},
		{name: "ended rollouts hold nothing",
			entries: []Entry{{Rollout: "a", Environment: "prod", State: contracts.StateCompleted, Admitted: true}, queued("b", "prod", 2)},
			want:    Decision{Ask: []Ask{{Environment: "prod", Rollout: "b"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.entries, now, tt.answers)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Decide:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestFromCalendar(t *testing.T) {
	until := now.Add(2 * time.Hour)
	tests := []struct {
		name string
		in   contracts.Admission
		want Answer
	}{
		{"allowed", contracts.Admission{Allowed: true}, Answer{Rollout: "r", Allowed: true}},
		{"freeze with reason", contracts.Admission{Until: &until, Window: &contracts.Window{ID: "w1", Kind: contracts.WindowFreeze, Reason: "holiday"}},
			Answer{Rollout: "r", Until: &until, Reason: "freeze: holiday until 2026-03-01T14:00:00Z", Blocked: true}},
		{"window without reason", contracts.Admission{Until: &until, Window: &contracts.Window{ID: "w1"}},
			Answer{Rollout: "r", Until: &until, Reason: "freeze: window w1 until 2026-03-01T14:00:00Z", Blocked: true}},
		{"outside maintenance", contracts.Admission{Until: &until, Reason: "outside every maintenance window",
			Window: &contracts.Window{ID: "m1", Kind: contracts.WindowMaintenance, Reason: "nightly"}},
			Answer{Rollout: "r", Until: &until, Reason: "outside every maintenance window until 2026-03-01T14:00:00Z", Blocked: true}},
		{"no window, no until", contracts.Admission{}, Answer{Rollout: "r", Reason: "freeze: the calendar refuses admission", Blocked: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FromCalendar("r", tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if u := Unavailable("r"); u.Allowed || u.Blocked || u.Reason != ReasonCalendarUnavailable {
		t.Fatalf("Unavailable = %+v", u)
	}
}
