package calhold

import (
	"reflect"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return now.Add(d) }

func window(id string, kind contracts.WindowKind, env string, from, to time.Duration) contracts.WindowState {
	w := contracts.Window{ID: id, Kind: kind, Environment: env, Start: at(from), End: at(to), Reason: "why " + id}
	if kind == contracts.WindowStop {
		w.Environment, w.Environments = "", []string{contracts.AllEnvironments}
	}
	return contracts.WindowState{Window: w, Occurrences: []contracts.Occurrence{{WindowID: id, Start: at(from), End: at(to)}},
		Through: at(30 * 24 * time.Hour)}
}

func running(id, env string) Run {
	return Run{Rollout: id, Environment: env, State: contracts.StateRunning, Admitted: true}
}

func pausedRun(id, env string) Run {
	return Run{Rollout: id, Environment: env, State: contracts.StatePaused, Admitted: true}
}

func TestDecide(t *testing.T) {
	freeze := window("w1", contracts.WindowFreeze, "prod", -time.Minute, time.Hour)
	later := window("w1", contracts.WindowFreeze, "prod", time.Minute, time.Hour)
	stop := window("s1", contracts.WindowStop, "", -time.Minute, 2*time.Hour)
	other := window("w2", contracts.WindowFreeze, "prod", -time.Minute, 3*time.Hour)
	stale := freeze
	stale.Through = at(-time.Second)
	held := Hold{Rollout: "r", Window: "w1", Label: "freeze w1 (why w1)", State: Paused, Since: at(-time.Minute)}
	overridden := held
	overridden.State, overridden.OverrideActor, overridden.OverrideReason = Overridden, "alice", "hotfix"
	exempt := Hold{Rollout: "r", State: Exempt, Since: now, OverrideActor: "alice", OverrideReason: "hotfix"}
	pause := func(id, win, label, until string) Action {
		return Action{Rollout: id, Verb: contracts.VerbPause, Reason: label + " until " + until,
			Hold: &Hold{Rollout: id, Window: win, Label: label, State: Paused, Since: now}}
	}
	finish := running("r", "prod")
	finish.Policy = contracts.OnFreezeFinishPhase
	boundary := finish
	boundary.AtPhaseBoundary = true

	tests := []struct {
		name   string
		runs   []Run
		holds  map[string]Hold
		states []contracts.WindowState
		prune  bool
		want   []Action
	}{
		{name: "a freeze covering now pauses a running rollout", runs: []Run{running("r", "prod")}, states: []contracts.WindowState{freeze},
			want: []Action{pause("r", "w1", "freeze w1 (why w1)", "2026-12-01T13:00:00Z")}},
		{name: "a freeze not yet begun does nothing", runs: []Run{running("r", "prod")}, states: []contracts.WindowState{later}},
		{name: "a freeze of another environment does nothing", runs: []Run{running("r", "qa")}, states: []contracts.WindowState{freeze}},
		{name: "a state that does not reach now invents nothing", runs: []Run{running("r", "prod")}, states: []contracts.WindowState{stale}},
		{name: "finish_phase waits for the phase's last batch", runs: []Run{finish}, states: []contracts.WindowState{freeze}},
		{name: "finish_phase stops at the phase boundary", runs: []Run{boundary}, states: []contracts.WindowState{freeze},
			want: []Action{pause("r", "w1", "freeze w1 (why w1)", "2026-12-01T13:00:00Z")}},
		{name: "a stop reaches every environment and ignores finish_phase", runs: []Run{finish, running("q", "qa")},
			states: []contracts.WindowState{freeze, stop},
			want:   []Action{pause("r", "s1", "stop s1 (why s1)", "2026-12-01T14:00:00Z"), pause("q", "s1", "stop s1 (why s1)", "2026-12-01T14:00:00Z")}},
		{name: "overlapping freezes: the one that ends last decides", runs: []Run{running("r", "prod")}, states: []contracts.WindowState{freeze, other},
			want: []Action{pause("r", "w2", "freeze w2 (why w2)", "2026-12-01T15:00:00Z")}},
		{name: "queued rollouts are admission's business", runs: []Run{{Rollout: "r", Environment: "prod", State: contracts.StateQueued}},
			states: []contracts.WindowState{freeze}},
		{name: "a held rollout stays paused while the freeze lasts", runs: []Run{pausedRun("r", "prod")},
			holds: map[string]Hold{"r": held}, states: []contracts.WindowState{freeze}},
		{name: "a held rollout resumes when the freeze is over", runs: []Run{pausedRun("r", "prod")},
			holds: map[string]Hold{"r": held}, states: []contracts.WindowState{later},
			want: []Action{{Rollout: "r", Verb: contracts.VerbResume, Reason: "freeze w1 (why w1) ended"}}},
		{name: "a held rollout resumes when its window is removed", runs: []Run{pausedRun("r", "prod")},
			holds: map[string]Hold{"r": held},
			want:  []Action{{Rollout: "r", Verb: contracts.VerbResume, Reason: "freeze w1 (why w1) ended"}}},
		{name: "an operator's pause is never resumed", runs: []Run{pausedRun("r", "prod")}, states: []contracts.WindowState{later}},
		{name: "an operator's pause is not taken over by a freeze", runs: []Run{pausedRun("r", "prod")}, states: []contracts.WindowState{freeze}},
		{name: "another window still holds it: the hold moves to it", runs: []Run{pausedRun("r", "prod")},
			holds: map[string]Hold{"r": held}, states: []contracts.WindowState{other},
			want: []Action{{Rollout: "r", Hold: &Hold{Rollout: "r", Window: "w2", Label: "freeze w2 (why w2)", State: Paused, Since: held.Since}}}},
		{name: "an override stands while its window lasts", runs: []Run{running("r", "prod")},
			holds: map[string]Hold{"r": overridden}, states: []contracts.WindowState{freeze}},
		{name: "an override does not cover another window", runs: []Run{running("r", "prod")},
			holds: map[string]Hold{"r": overridden}, states: []contracts.WindowState{stop},
			want: []Action{pause("r", "s1", "stop s1 (why s1)", "2026-12-01T14:00:00Z")}},
		{name: "an override ends with its window", runs: []Run{running("r", "prod")},
			holds: map[string]Hold{"r": overridden}, want: []Action{{Rollout: "r"}}},
		{name: "an overridden rollout paused by a failure is not resumed", runs: []Run{pausedRun("r", "prod")},
			holds: map[string]Hold{"r": overridden}, want: []Action{{Rollout: "r"}}},
		{name: "an exemption stands while the rollout waits", runs: []Run{{Rollout: "r", Environment: "prod", State: contracts.StateQueued}},
			holds: map[string]Hold{"r": exempt}},
		{name: "an exempt rollout runs through a freeze", runs: []Run{running("r", "prod")},
			holds: map[string]Hold{"r": exempt}, states: []contracts.WindowState{freeze, stop}},
		{name: "an exemption ends when nothing blocks", runs: []Run{running("r", "prod")},
			holds: map[string]Hold{"r": exempt}, want: []Action{{Rollout: "r"}}},
		{name: "holds of ended rollouts are pruned", holds: map[string]Hold{"r": held}, prune: true, want: []Action{{Rollout: "r"}}},
		{name: "holds of rollouts not looked at are kept", holds: map[string]Hold{"r": held}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.runs, tt.holds, tt.states, now, tt.prune)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Decide:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// A window whose reason is empty is named by kind and id.
func TestLabel(t *testing.T) {
	b := Blocker{Window: contracts.Window{ID: "w9"}, Occurrence: contracts.Occurrence{End: now}}
	if got := b.PauseReason(); got != "freeze w9 until 2026-12-01T12:00:00Z" {
		t.Fatalf("PauseReason = %q", got)
	}
	ls := Blocker{Window: contracts.LineStop{Reason: "incident 5", Since: now}.Window()}
	if got := ls.PauseReason(); got != "stop line-stop (incident 5) until the line is released" {
		t.Fatalf("line stop PauseReason = %q", got)
	}
}
