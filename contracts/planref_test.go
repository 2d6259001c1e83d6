package contracts

import (
	"strings"
	"testing"
)

func TestCheckPlanRef(t *testing.T) {
	good := PlanRef{Bucket: PlansBucket, Object: "r1", Size: 10, SHA256: PlanDigest([]byte("x"))}
	if err := CheckPlanRef("plan_ref", "r1", good); err != nil {
		t.Fatalf("good ref: %v", err)
	}
	cases := []struct {
		name  string
		edit  func(*PlanRef)
		field string
	}{
		{"other bucket", func(r *PlanRef) { r.Bucket = "rollwave-artifacts" }, "plan_ref.bucket"},
		{"other rollout", func(r *PlanRef) { r.Object = "r2" }, "plan_ref.object"},
		{"empty", func(r *PlanRef) { r.Size = 0 }, "plan_ref.size"},
		{"too large", func(r *PlanRef) { r.Size = MaxPlanSize + 1 }, "plan_ref.size"},
		{"short digest", func(r *PlanRef) { r.SHA256 = "abc" }, "plan_ref.sha256"},
		{"upper-case digest", func(r *PlanRef) { r.SHA256 = strings.ToUpper(good.SHA256) }, "plan_ref.sha256"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := good
			c.edit(&r)
			err := CheckPlanRef("plan_ref", "r1", r)
			if e := AsFieldErrors(err); len(e) != 1 || e[0].Field != c.field {
				t.Fatalf("err = %v, want one error naming %s", err, c.field)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	p := Plan{Strategy: StrategyRolling, RequestedBy: "ci", Reason: "r",
		LifecycleOverride: &LifecycleOverride{Missing: "staging", Reason: "INC-7"},
		Phases: []PlannedPhase{
			{Name: "canary", Batches: [][]string{{"a"}}},
			{Name: "approve", Kind: StepGate},
			{Name: "rest", Batches: [][]string{{"b", "c"}, {"d"}}},
		},
		Hosts: map[string]PlannedHost{"a": {}, "b": {}, "c": {}, "d": {}},
	}
	s := Summarize(p)
	if s.Hosts != 4 || s.Batches != 3 || s.Override != "INC-7" || s.RequestedBy != "ci" || len(s.Phases) != 3 ||
		s.Phases[2] != (PhaseSummary{Name: "rest", Hosts: 3}) || s.Phases[1].Kind != StepGate {
		t.Fatalf("summary = %+v", s)
	}
}
