package contracts

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Plans above PlanInlineLimit encoded bytes do not travel inside their
// planned event: the planner stores the encoded plan in the JetStream
// Object Store bucket PlansBucket, object <rollout>, before it publishes
// the event, and the event carries a PlanRef instead of the plan. So a
// 100,000-host plan (about 10 MB) works on a server with the stock 1 MB
// max_payload, and a small plan still costs no more stored messages.
const (
	PlansBucket = "rollwave-plans"
	// PlanInlineLimit is the largest encoded plan sent inline: a quarter of
	// the stock max_payload, leaving room for the envelope and headers.
	PlanInlineLimit = 256 << 10
	// MaxPlanSize bounds what a reader fetches for one plan.
	MaxPlanSize = 256 << 20
	// PlansMaxAge is how long stored plans are kept: as long as the events
	// stream keeps the planned event that references them.
	PlansMaxAge = 90 * 24 * time.Hour
)

// MaxEventHosts bounds the host names one event lists, so that the
// phase_started event of a 100,000-host phase fits in a message.
const MaxEventHosts = 1000

// PlanRef points at a plan kept in the plans object store, with the
// SHA-256 of its encoded bytes, which readers verify, and a summary for
// readers that only show or count it.
type PlanRef struct {
	Bucket string `json:"bucket"`
	Object string `json:"object"`
	Size   int64  `json:"size"`
	// SHA256 is the lower-case hex SHA-256 of the stored bytes.
	SHA256  string      `json:"sha256"`
	Summary PlanSummary `json:"summary"`
}

// PlanSummary is what the event's readers that do not run the plan need.
type PlanSummary struct {
	Strategy    Strategy       `json:"strategy,omitempty"`
	Hosts       int            `json:"hosts"`
	Batches     int            `json:"batches"`
	RequestedBy string         `json:"requested_by,omitempty"`
	Reason      string         `json:"reason,omitempty"`
	Override    string         `json:"override,omitempty"`
	Phases      []PhaseSummary `json:"phases,omitempty"`
}

// PhaseSummary is one step of a plan: its name, kind and host count.
type PhaseSummary struct {
	Name  string   `json:"name"`
	Kind  StepKind `json:"kind,omitempty"`
	Hosts int      `json:"hosts"`
}

// Summarize returns the summary of p.
func Summarize(p Plan) PlanSummary {
	s := PlanSummary{Strategy: p.Strategy, Hosts: p.TotalHosts(), RequestedBy: p.RequestedBy, Reason: p.Reason}
	if p.LifecycleOverride != nil {
		s.Override = p.LifecycleOverride.Reason
	}
	for _, ph := range p.Phases {
		n := 0
		for _, b := range ph.Batches {
			n += len(b)
		}
		s.Batches += len(ph.Batches)
		s.Phases = append(s.Phases, PhaseSummary{Name: ph.Name, Kind: ph.Kind, Hosts: n})
	}
	return s
}

// PlanDigest returns the hex SHA-256 of an encoded plan, as PlanRef carries it.
func PlanDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// CheckPlanRef checks a reference as a reader must before fetching it.
func CheckPlanRef(field string, rollout string, r PlanRef) error {
	var fe FieldErrors
	if r.Bucket != PlansBucket {
		fe.Add(field+".bucket", "must be %q, got %q", PlansBucket, clip(r.Bucket))
	}
	if r.Object != rollout {
		fe.Add(field+".object", "must be the rollout id %q, got %q", rollout, clip(r.Object))
	}
	if r.Size <= 0 || r.Size > MaxPlanSize {
		fe.Add(field+".size", "must be between 1 and %d bytes, got %d", MaxPlanSize, r.Size)
	}
	if len(r.SHA256) != 64 || !isLowerHex(r.SHA256) {
		fe.Add(field+".sha256", "must be 64 lower-case hex digits, got %q", clip(r.SHA256))
	}
	return fe.Err()
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
