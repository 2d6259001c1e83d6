package contracts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Strategy names how a rollout replaces versions.
type Strategy string

const (
	StrategyRolling Strategy = "rolling"
	// StrategyCanary deploys a few hosts, analyses them, then the rest
	// (see CanarySpec).
	StrategyCanary Strategy = "canary"
	// StrategyBlueGreen deploys the idle set, switches traffic to it and
	// keeps the old set for a switch back (see BlueGreenSpec).
	StrategyBlueGreen Strategy = "blue-green"
)

// OnFailure names what happens when a rollout crosses its failure threshold.
type OnFailure string

const (
	OnFailurePause OnFailure = "pause"
	OnFailureAbort OnFailure = "abort"
	// OnFailureRollback redeploys each changed host's previous version, in
	// reverse order and with the same batching, and ends rolled_back.
	OnFailureRollback OnFailure = "rollback"
	// OnFailureGuided pauses the rollout and offers, for each failed host,
	// retry, skip host (exclude), roll back or abort.
	OnFailureGuided OnFailure = "guided"
)

// DeployRequest asks for one release of an application to one environment.
// Its ID is chosen by the caller, is the idempotency key of the request and
// becomes the rollout id. App and Version are empty when Apps names
// several applications.
type DeployRequest struct {
	ID          string               `json:"id"`
	App         string               `json:"app,omitempty"`
	Version     string               `json:"version,omitempty"`
	Environment string               `json:"environment"`
	Strategy    Strategy             `json:"strategy,omitempty"`
	Phases      []PhaseSpec          `json:"phases,omitempty"`
	Failure     FailurePolicy        `json:"failure,omitzero"`
	Checks      map[string]CheckSpec `json:"checks,omitempty"`
	Driver      *DriverSpec          `json:"driver,omitempty"`
	// Procedure names an operator-defined procedure of the environment's
	// inventory; see Procedure.
	Procedure   string            `json:"procedure,omitempty"`
	Params      map[string]string `json:"params,omitempty"`
	StartAt     *time.Time        `json:"start_at,omitempty"`
	RequestedBy string            `json:"requested_by,omitempty"`
	Reason      string            `json:"reason,omitempty"`
	// Offline is what to do with target hosts that are offline; "" is
	// OfflineFail.
	Offline OfflinePolicy `json:"offline,omitempty"`
	// Requires lists the applications this release needs in the
	// environment, with semver constraints.
	Requires []Requirement `json:"requires,omitempty"`
	// Apps names several applications instead of App, Version and
	// Requires: they roll out one after another in the order of their
	// requires, each as its own rollout (see AppRelease).
	Apps []AppRelease `json:"apps,omitempty"`
	// Team and Labels say whose rollout this is, for the calendar:
	// a reservation held for a team or a label admits only its holders.
	Team   string            `json:"team,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	// Override bypasses the lifecycle check, with a reason (lifecycle.go).
	Override *Override `json:"override,omitempty"`
	// OnBlocked is what to do when the calendar keeps the rollout from
	// starting; "" takes the environment's policy, else wait.
	OnBlocked OnBlocked `json:"on_blocked,omitempty"`
	// OnFreeze is how the rollout stops when a freeze begins while it
	// runs; "" takes the environment's policy, else pause.
	OnFreeze OnFreeze `json:"on_freeze,omitempty"`
	// Canary is the strategy canary's layout; with it, phases stay empty.
	Canary *CanarySpec `json:"canary,omitempty"`
	// BlueGreen is the strategy blue-green's layout; phases stay empty.
	BlueGreen *BlueGreenSpec `json:"blue_green,omitempty"`
	// ActionTimeout, when set, is how long a host action may take before
	// its host counts as failed; see Plan.ActionTimeout.
	ActionTimeout Duration `json:"action_timeout,omitempty"`
}

// PhaseSpec is one step of a rollout, exactly one of (see StepKind):
//   - a phase: Hosts hand-picks hosts; Selector picks by group and labels;
//     a phase with neither takes every host of the environment that no
//     other phase names. Gate, with before, after or every_batch, places
//     manual gates around it.
//   - a wait step {name, wait: 10m}: nothing else set;
//   - an analysis step {name, analysis: {...}}: nothing else set; it
//     measures the hosts of the phase before it;
//   - a gate step {name, gate: {timeout, on_timeout}}: a gate with none of
//     before, after and every_batch, and nothing else set.
type PhaseSpec struct {
	Name     string        `json:"name"`
	Hosts    []string      `json:"hosts,omitempty"`
	Selector *Selector     `json:"selector,omitempty"`
	Batch    BatchSpec     `json:"batch,omitzero"`
	Checks   []string      `json:"checks,omitempty"`
	Gate     *PlannedGate  `json:"gate,omitempty"`
	Wait     *Duration     `json:"wait,omitempty"`
	Analysis *AnalysisSpec `json:"analysis,omitempty"`
	// MaxFailed, on a phase, is its own failure budget (a count, or a
	// percentage of the phase's hosts), on top of failure.max_failed
	// across the rollout; crossing either applies failure.on_failure.
	MaxFailed *Size `json:"max_failed,omitempty"`
}

// StepKind says which kind of step the entry is. It decides from which
// variant is set; Validate reports entries that mix variants.
func (ph PhaseSpec) StepKind() StepKind {
	switch {
	case ph.Wait != nil:
		return StepWait
	case ph.Analysis != nil:
		return StepAnalysis
	case ph.Gate != nil && !ph.Gate.Placed() && !ph.hasPhaseFields():
		return StepGate
	}
	return StepPhase
}

func (ph PhaseSpec) hasPhaseFields() bool {
	return len(ph.Hosts) > 0 || ph.Selector != nil || !ph.Batch.IsZero() || len(ph.Checks) > 0 || ph.MaxFailed != nil
}

// Placed reports whether the gate sits around a phase (before, after or
// every batch) rather than being a step of its own.
func (g PlannedGate) Placed() bool { return g.Before || g.After || g.EveryBatch }

// Selector matches hosts that belong to Group (when set) and carry every
// label in Labels.
type Selector struct {
	Group  string            `json:"group,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Size is a count of hosts or a percentage of a phase's hosts.
type Size struct {
	Count   int `json:"-"`
	Percent int `json:"-"`
}

// IsPercent reports whether the size is relative.
func (s Size) IsPercent() bool { return s.Percent != 0 }

// Of resolves the size against n hosts: a percentage rounds up, so that 25%
// of 3 hosts is 1 host, never 0.
func (s Size) Of(n int) int {
	if s.IsPercent() {
		return (n*s.Percent + 99) / 100
	}
	return s.Count
}

func (s Size) String() string {
	if s.IsPercent() {
		return strconv.Itoa(s.Percent) + "%"
	}
	return strconv.Itoa(s.Count)
}

// MarshalJSON writes a count as a number and a percentage as "25%".
func (s Size) MarshalJSON() ([]byte, error) {
	if s.IsPercent() {
		return json.Marshal(s.String())
	}
	return json.Marshal(s.Count)
}

// UnmarshalJSON reads 2, "2" or "25%"; "0%" reads as 0. Range checks are
// Validate's job so that they can name the field and the rule.
func (s *Size) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return fmt.Errorf("must be a number or a percentage such as \"25%%\": %w", err)
		}
		return s.parse(str)
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		return s.parse(string(b))
	}
	return fmt.Errorf("must be a number or a percentage such as \"25%%\", got %s", describeRaw(b))
}

// ParseSize reads "2" or "25%".
func ParseSize(str string) (Size, error) {
	var s Size
	err := s.parse(str)
	return s, err
}

func (s *Size) parse(str string) error {
	str = strings.TrimSpace(str)
	if p, ok := strings.CutSuffix(str, "%"); ok {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		switch {
		case errors.Is(err, strconv.ErrRange):
			return fmt.Errorf("percentage %q is out of range", str)
		case err != nil:
			return fmt.Errorf("percentage %q is not a whole number", str)
		}
		// 0% of the hosts is 0 hosts: the same as the count 0, which
		// Validate allows for max_failed and rejects for batch.
		*s = Size{Percent: v}
		if v == 0 {
			*s = Size{}
		}
		return nil
	}
	v, err := strconv.Atoi(str)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return fmt.Errorf("%q is out of range", str)
	case err != nil:
		return fmt.Errorf("must be a whole number or a percentage such as \"25%%\", got %q", str)
	}
	*s = Size{Count: v}
	return nil
}

// problem describes what is wrong with a batch size (allowZero false) or a
// failure threshold (allowZero true), or returns "".
func (s Size) problem(allowZero bool) string {
	low := "1%"
	if allowZero {
		low = "0%"
	}
	switch {
	case s.IsPercent():
		if s.Percent < 0 || s.Percent > 100 {
			return fmt.Sprintf("must be between %s and 100%%, got %d%%", low, s.Percent)
		}
	case s.Count < 0:
		return fmt.Sprintf("must not be negative, got %d", s.Count)
	case s.Count == 0 && !allowZero:
		return "must be at least 1 host or 1%"
	}
	return ""
}

// BatchSpec is how many hosts of a phase run at once: one size for every
// batch, or an escalating list whose last size repeats ([1, 5, "20%"]).
// The zero value means the whole phase in one batch.
type BatchSpec struct {
	Steps []Size
}

// IsZero reports an unset batch.
func (b BatchSpec) IsZero() bool { return len(b.Steps) == 0 }

// MarshalJSON writes a single size as a scalar and a list as an array.
func (b BatchSpec) MarshalJSON() ([]byte, error) {
	if len(b.Steps) == 1 {
		return json.Marshal(b.Steps[0])
	}
	return json.Marshal(b.Steps)
}

// UnmarshalJSON reads 2, "25%" or [1, 5, "20%"]. An empty list is an
// error rather than "unset", which would silently mean "all at once".
func (b *BatchSpec) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	if len(data) == 0 || data[0] != '[' {
		var s Size
		if err := s.UnmarshalJSON(data); err != nil {
			return err
		}
		b.Steps = []Size{s}
		return nil
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return fmt.Errorf("must be a size or a list of sizes: %w", err)
	}
	if len(raws) == 0 {
		return errors.New("must list at least one size, such as [1, 5, \"20%\"]")
	}
	steps := make([]Size, len(raws))
	for i, raw := range raws {
		if err := steps[i].UnmarshalJSON(raw); err != nil {
			return Invalid(IndexPath("", i), "%s", err.Error())
		}
	}
	b.Steps = steps
	return nil
}

// FailurePolicy says how many failed hosts a rollout tolerates and what
// happens when more fail. MaxFailed is a count or a percentage of all the
// rollout's hosts; the default 0 tolerates no failure.
type FailurePolicy struct {
	MaxFailed Size      `json:"max_failed,omitzero"`
	OnFailure OnFailure `json:"on_failure,omitempty"`
}

// IsZero reports an unset policy.
func (f FailurePolicy) IsZero() bool { return f.MaxFailed == (Size{}) && f.OnFailure == "" }

// Duration is a time.Duration written as "2s" in JSON.
type Duration time.Duration

// D returns the standard duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "1.5s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("must be a duration such as \"2s\": %w", err)
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as \"2s\" or \"1m30s\"", s)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("must be a duration such as \"2s\" or a number of seconds, got %s", describeRaw(b))
	}
	ns := secs * float64(time.Second)
	if ns >= math.MaxInt64 || ns <= math.MinInt64 {
		return fmt.Errorf("%s seconds is out of range", b)
	}
	*d = Duration(ns)
	return nil
}

// CheckSpec is one automatic verification. Exactly one variant is set
// (the kinds other than http are in checks.go).
type CheckSpec struct {
	HTTP       *HTTPCheck       `json:"http,omitempty"`
	TCP        *TCPCheck        `json:"tcp,omitempty"`
	Command    *CommandCheck    `json:"command,omitempty"`
	Prometheus *PrometheusCheck `json:"prometheus,omitempty"`
	NATS       *NATSCheck       `json:"nats,omitempty"`
}

// HTTPCheck polls a URL until it answers with Status Consecutive times in a
// row, waiting Interval between tries, each try bounded by Timeout, the whole
// check bounded by Deadline.
type HTTPCheck struct {
	// URL is a template over the host action, such as
	// "http://{{.Host.Address}}/healthz".
	URL         string   `json:"url"`
	Status      int      `json:"status,omitempty"`
	Consecutive int      `json:"consecutive,omitempty"`
	Interval    Duration `json:"interval,omitempty"`
	Timeout     Duration `json:"timeout,omitempty"`
	Deadline    Duration `json:"deadline,omitempty"`
}

// DriverSpec says how an executor acts on a host. Exactly one variant is set.
type DriverSpec struct {
	Sim  *SimDriver  `json:"sim,omitempty"`
	Exec *ExecDriver `json:"exec,omitempty"`
	SSH  *SSHDriver  `json:"ssh,omitempty"`
	// Agent deploys through the host's agent; see AgentDriver.
	Agent *AgentDriver `json:"agent,omitempty"`
	// Hooks run around the variant's deploy (hooks.go). Only the planner
	// sets them, from an operator procedure; a request cannot.
	Hooks *HostHooks `json:"hooks,omitempty"`
}

// Name returns the name of the variant that is set.
func (d DriverSpec) Name() string {
	switch {
	case d.Sim != nil:
		return "sim"
	case d.Exec != nil:
		return "exec"
	case d.SSH != nil:
		return "ssh"
	case d.Agent != nil:
		return "agent"
	}
	return ""
}

// SimDriver simulates a deployment: it waits a latency drawn from a
// log-normal distribution with the given median and 99th percentile and fails
// with FailureRate. The same Seed, host and attempt give the same outcome.
type SimDriver struct {
	Median      Duration `json:"median,omitempty"`
	P99         Duration `json:"p99,omitempty"`
	FailureRate float64  `json:"failure_rate,omitempty"`
	Seed        int64    `json:"seed,omitempty"`
	// FailHosts always fail, for rehearsing failure handling.
	FailHosts []string `json:"fail_hosts,omitempty"`
}

// ExecDriver runs a program with an argument vector, never through a shell.
// Each element of Command and each Env value is a template over the host
// action ({{.Host.Name}}, {{.Host.Address}}, {{.App}}, {{.Version}},
// {{.PreviousVersion}}, {{index .Params "key"}}).
type ExecDriver struct {
	Command []string          `json:"command"`
	Env     map[string]string `json:"env,omitempty"`
	Dir     string            `json:"dir,omitempty"`
	Timeout Duration          `json:"timeout,omitempty"`
}
