package contracts

import (
	"fmt"
	"strings"
)

// Subjects are built only here. Services never write subject strings.
//
//	rollwave.requests.deploy                      deploy requests (REQUESTS)
//	rollwave.control.<rollout>.<verb>             operator commands, request/reply
//	rollwave.events.<env>.<rollout>.<type>        rollout events (EVENTS)
//	rollwave.actions.<pool>.<env>                 host actions, work queue (ACTIONS)
//	rollwave.results.<env>.<rollout>              host results (RESULTS)
//	rollwave.api.<service>.<op>                   queries, request/reply
const (
	SubjectRoot          = "rollwave"
	SubjectDeployRequest = "rollwave.requests.deploy"
)

// Verb is an operator command on a rollout.
type Verb string

const (
	VerbPause  Verb = "pause"
	VerbResume Verb = "resume"
	VerbAbort  Verb = "abort"
	// VerbRetry runs the failed hosts of a paused rollout again, each as a
	// new attempt with a new action id.
	VerbRetry Verb = "retry"
	// VerbApprove and VerbReject decide the gate a rollout waits at.
	VerbApprove Verb = "approve"
	VerbReject  Verb = "reject"
	// VerbOverride is an emergency override of the calendar: a queued
	// rollout starts despite the windows that block it, a rollout the
	// calendar paused runs on. It needs a reason, recorded with the actor.
	VerbOverride Verb = "override"
	// VerbRollback redeploys each changed host's previous version.
	VerbRollback Verb = "rollback"
	// VerbSkip skips a pending step (ControlCommand.Step), or the gate or
	// wait step the rollout is at.
	VerbSkip Verb = "skip"
	// VerbReorder gives the pending steps a new order (ControlCommand.Steps).
	VerbReorder Verb = "reorder"
	// VerbExclude removes a host (ControlCommand.Host) from the rest of the
	// rollout.
	VerbExclude Verb = "exclude"
)

// Verbs lists the verbs the scheduler answers.
var Verbs = []Verb{VerbPause, VerbResume, VerbAbort, VerbRetry, VerbApprove, VerbReject, VerbOverride, VerbRollback, VerbSkip, VerbReorder, VerbExclude}

// ParseVerb checks a verb name.
func ParseVerb(s string) (Verb, error) {
	for _, v := range Verbs {
		if string(v) == s {
			return v, nil
		}
	}
	return "", Invalid("verb", "must be one of %s, got %q", joinVerbs(), s)
}

func joinVerbs() string {
	names := make([]string, len(Verbs))
	for i, v := range Verbs {
		names[i] = string(v)
	}
	return strings.Join(names, ", ")
}

// ValidToken reports whether s can stand as one subject token: environment,
// rollout and pool names must, as they appear in subjects.
func ValidToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// CheckToken returns an invalid_request error naming field when s cannot be
// a subject token.
func CheckToken(field, s string) error {
	if !ValidToken(s) {
		return Invalid(field, "must be 1-128 letters, digits, '-' or '_', starting with a letter or digit, got %q", s)
	}
	return nil
}

// ControlSubject is where operators send a verb for a rollout.
func ControlSubject(rollout string, verb Verb) string {
	return "rollwave.control." + rollout + "." + string(verb)
}

// ControlWildcard matches every control command.
func ControlWildcard() string { return "rollwave.control.*.*" }

// ParseControlSubject splits a control subject into rollout and verb.
func ParseControlSubject(subject string) (rollout string, verb Verb, err error) {
	parts := strings.Split(subject, ".")
	if len(parts) != 4 || parts[0] != SubjectRoot || parts[1] != "control" {
		return "", "", Invalid("subject", "not a control subject: %q", subject)
	}
	v, err := ParseVerb(parts[3])
	return parts[2], v, err
}

// EventSubject is the subject of one rollout event.
func EventSubject(env, rollout string, t EventType) string {
	return "rollwave.events." + env + "." + rollout + "." + string(t)
}

// EventFilter builds an events filter; empty arguments become wildcards.
func EventFilter(env, rollout string, t EventType) string {
	return "rollwave.events." + orStar(env) + "." + orStar(rollout) + "." + orStar(string(t))
}

// EventsWildcard matches every rollout event.
func EventsWildcard() string { return "rollwave.events.>" }

// ParseEventSubject splits an event subject.
func ParseEventSubject(subject string) (env, rollout string, t EventType, err error) {
	parts := strings.Split(subject, ".")
	if len(parts) != 5 || parts[0] != SubjectRoot || parts[1] != "events" {
		return "", "", "", Invalid("subject", "not an event subject: %q", subject)
	}
	return parts[2], parts[3], EventType(parts[4]), nil
}

// ActionSubject is where host actions for a pool and environment are queued.
func ActionSubject(pool, env string) string { return "rollwave.actions." + pool + "." + env }

// ActionPoolFilter matches every action of one executor pool.
func ActionPoolFilter(pool string) string { return "rollwave.actions." + pool + ".>" }

// ResultSubject carries host results of one rollout. The environment is part
// of the subject so schedulers partitioned by environment can filter on it.
func ResultSubject(env, rollout string) string { return "rollwave.results." + env + "." + rollout }

// ResultsWildcard matches every result.
func ResultsWildcard() string { return "rollwave.results.>" }

// CalendarWindowSubject is where the calendar announces that an occurrence
// of a window begins (WindowOpened) or ends (WindowClosed).
func CalendarWindowSubject(event WindowEventType, windowID string) string {
	return "rollwave.calendar." + string(event) + "." + windowID
}

// CalendarWindowWildcard matches every window announcement.
func CalendarWindowWildcard() string { return "rollwave.calendar.*.*" }

// APISubject is a request/reply query subject of a service.
func APISubject(service, op string) string { return "rollwave.api." + service + "." + op }

// API operations.
var (
	APIDiscoveryTargets   = APISubject("discovery", "targets")
	APIDiscoveryInventory = APISubject("discovery", "inventory")
	APIPlannerPreview     = APISubject("planner", "preview")
	APIPlannerClaim       = APISubject("planner", "claim")
	APICalendarAdmit      = APISubject("calendar", "admit")
	APICalendarAdd        = APISubject("calendar", "add")
	APICalendarList       = APISubject("calendar", "list")
	APICalendarRemove     = APISubject("calendar", "remove")
	APICalendarSlot       = APISubject("calendar", "slot")
	APICalendarImport     = APISubject("calendar", "import")
	APICalendarExport     = APISubject("calendar", "export")
	APISchedulerGet       = APISubject("scheduler", "get")
	APISchedulerList      = APISubject("scheduler", "list")
)

// Message ids (Nats-Msg-Id) are deterministic so that a retried publish is
// dropped by the server's duplicate window.

// PlannedMsgID is the message id of the planner's verdict on a request.
func PlannedMsgID(rollout string) string { return rollout + "/planned" }

// EventMsgID is the message id of the n-th scheduler event of a rollout.
func EventMsgID(rollout string, n int64) string { return fmt.Sprintf("%s/event-%d", rollout, n) }

// ActionID is the id and idempotency key of one host action.
func ActionID(rollout string, phase int, host string, attempt int) string {
	return fmt.Sprintf("%s/%d/%s/attempt-%d", rollout, phase, host, attempt)
}

// ResultMsgID is the message id of the result of one host action.
func ResultMsgID(actionID string) string { return actionID + "/result" }

func orStar(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

// AgentAnnounceSubject is where host agents of an environment announce
// themselves to discovery (core NATS, every heartbeat interval). The host
// is named in the payload: host names may hold dots.
func AgentAnnounceSubject(env string) string { return "rollwave.agents." + env + ".announce" }

// AgentAnnounceWildcard matches every agent announcement.
func AgentAnnounceWildcard() string { return "rollwave.agents.*.announce" }
