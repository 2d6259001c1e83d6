package contracts

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func durationPtr(d time.Duration) *Duration { v := Duration(d); return &v }

// Each entry of phases is exactly one kind of step; a wrong field is named.
func TestValidateSteps(t *testing.T) {
	bake := func(r *DeployRequest) PhaseSpec { return PhaseSpec{Name: "bake", Wait: durationPtr(10 * time.Minute)} }
	tests := []struct {
		name   string
		mutate func(*DeployRequest)
		fields []string
		msg    string
	}{
		{"wait step", func(r *DeployRequest) { r.Phases = slices.Insert(r.Phases, 1, bake(r)) }, nil, ""},
		{"gate step", func(r *DeployRequest) {
			r.Phases = slices.Insert(r.Phases, 1, PhaseSpec{Name: "sign-off", Gate: &PlannedGate{Timeout: Duration(time.Hour), OnTimeout: GateRollback}})
		}, nil, ""},
		{"gate around a phase", func(r *DeployRequest) {
			r.Phases[1].Gate = &PlannedGate{EveryBatch: true, Timeout: Duration(time.Hour), OnTimeout: GateApprove}
		}, nil, ""},
		{"wait zero", func(r *DeployRequest) { r.Phases = append(r.Phases, PhaseSpec{Name: "bake", Wait: durationPtr(0)}) },
			[]string{"phases[3].wait"}, "positive duration"},
		{"wait with hosts and gate", func(r *DeployRequest) {
			s := bake(r)
			s.Hosts, s.Gate = []string{"web-09"}, &PlannedGate{}
			r.Phases = append(r.Phases, s)
		}, []string{"phases[3].hosts", "phases[3].gate"}, "a wait step has no hosts"},
		{"unplaced gate on a phase", func(r *DeployRequest) { r.Phases[0].Gate = &PlannedGate{Timeout: Duration(time.Hour)} },
			[]string{"phases[0].gate"}, "before, after or every_batch"},
		{"on_timeout without timeout", func(r *DeployRequest) { r.Phases[0].Gate = &PlannedGate{Before: true, OnTimeout: GateApprove} },
			[]string{"phases[0].gate.on_timeout"}, "needs a timeout"},
		{"on_timeout unknown", func(r *DeployRequest) {
			r.Phases[0].Gate = &PlannedGate{Before: true, Timeout: Duration(time.Second), OnTimeout: "shrug"}
		}, []string{"phases[0].gate.on_timeout"}, "must be one of"},
		{"reserved name", func(r *DeployRequest) { r.Phases[2].Name = RollbackStepID }, []string{"phases[2].name"}, "reserved"},
		{"only waits", func(r *DeployRequest) { r.Phases = []PhaseSpec{bake(r)} }, []string{"phases"}, "at least one phase that deploys"},
		// A wait or gate step takes no hosts, so it is no second rest phase.
		{"wait next to the rest phase", func(r *DeployRequest) { r.Phases = append(r.Phases, bake(r)) }, nil, ""},
		{"analysis step", func(r *DeployRequest) {
			r.Phases = slices.Insert(r.Phases, 1, PhaseSpec{Name: "measure", Analysis: &AnalysisSpec{Checks: []string{"healthz"},
				Interval: Duration(time.Minute), Count: 5, FailureLimit: 1}})
		}, nil, ""},
		{"analysis first", func(r *DeployRequest) {
			r.Phases = slices.Insert(r.Phases, 0, PhaseSpec{Name: "measure", Analysis: &AnalysisSpec{Checks: []string{"healthz"}}})
		}, []string{"phases[0].analysis"}, "must come after a phase"},
		{"analysis problems", func(r *DeployRequest) {
			r.Phases = append(r.Phases, PhaseSpec{Name: "measure", Hosts: []string{"web-09"}, Analysis: &AnalysisSpec{Checks: []string{"smo ke"}, Count: 3, FailureLimit: -1}})
		}, []string{"phases[3].hosts", "phases[3].analysis.checks[0]", "phases[3].analysis.failure_limit", "phases[3].analysis.interval"}, "an analysis step has no hosts"},
		{"phase budget", func(r *DeployRequest) { p := Size{Percent: 25}; r.Phases[1].MaxFailed = &p }, nil, ""},
		{"phase budget negative", func(r *DeployRequest) { n := Size{Count: -1}; r.Phases[1].MaxFailed = &n },
			[]string{"phases[1].max_failed"}, "must not be negative"},
		{"budget on a wait", func(r *DeployRequest) {
			s := bake(r)
			n := Size{Count: 1}
			s.MaxFailed = &n
			r.Phases = append(r.Phases, s)
		},
			[]string{"phases[3].max_failed"}, "a wait step has no max_failed"},
		{"guided failure", func(r *DeployRequest) { r.Failure.OnFailure = OnFailureGuided }, nil, ""},
		{"action_timeout negative", func(r *DeployRequest) { r.ActionTimeout = Duration(-time.Second) }, []string{"action_timeout"}, "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRequest()
			tt.mutate(&r)
			err := r.Validate()
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			var fe FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("got %v (%T), want FieldErrors", err, err)
			}
			var got []string
			for _, f := range fe {
				got = append(got, f.Field)
			}
			if !slices.Equal(got, tt.fields) || !strings.Contains(fe[0].Message, tt.msg) {
				t.Fatalf("got %v, want fields %q with %q", fe, tt.fields, tt.msg)
			}
		})
	}
}

func TestStepKind(t *testing.T) {
	for _, tt := range []struct {
		ph   PhaseSpec
		want StepKind
	}{
		{PhaseSpec{Name: "a"}, StepPhase},
		{PhaseSpec{Name: "a", Gate: &PlannedGate{Before: true}}, StepPhase},
		{PhaseSpec{Name: "a", Gate: &PlannedGate{}}, StepGate},
		{PhaseSpec{Name: "a", Gate: &PlannedGate{}, Hosts: []string{"h"}}, StepPhase},
		{PhaseSpec{Name: "a", Wait: durationPtr(time.Second)}, StepWait},
		{PhaseSpec{Name: "a", Analysis: &AnalysisSpec{}}, StepAnalysis},
	} {
		if got := tt.ph.StepKind(); got != tt.want {
			t.Errorf("%+v: kind %q, want %q", tt.ph, got, tt.want)
		}
	}
}
