package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/rollwave/rollwave/contracts"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// useColor reports whether to colour what goes to w: only on a terminal,
// and never when NO_COLOR is set (https://no-color.org).
func useColor(w io.Writer) bool {
	_, noColor := os.LookupEnv("NO_COLOR")
	return !noColor && isTerminal(w)
}

// painter colours text, or leaves it as it is.
type painter bool

const (
	ansiRed    = "31"
	ansiGreen  = "32"
	ansiYellow = "33"
	ansiBlue   = "34"
	ansiDim    = "2"
	ansiBold   = "1"
)

func (p painter) paint(code, s string) string {
	if !p || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// state colours a state by how it is going.
func (p painter) state(s string) string {
	switch contracts.State(s) {
	case contracts.StateCompleted:
		return p.paint(ansiGreen, s)
	case contracts.StateFailed, contracts.StateAborted, contracts.StateRejected, contracts.StateRolledBack:
		return p.paint(ansiRed, s)
	case contracts.StatePaused, contracts.StateQueued:
		return p.paint(ansiYellow, s)
	case contracts.StateRunning:
		return p.paint(ansiBlue, s)
	}
	switch s {
	case "succeeded":
		return p.paint(ansiGreen, s)
	case "failed":
		return p.paint(ansiRed, s)
	}
	return s
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// printRaw writes an API answer as it came, one JSON document per line.
func printRaw(w io.Writer, raw []byte) {
	w.Write(raw)
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		io.WriteString(w, "\n")
	}
}

func printPlan(w io.Writer, p *contracts.Plan) {
	fmt.Fprintf(w, "Plan for %s: %s@%s to %s (%s), %d hosts in %d phases\n",
		p.Rollout, p.App, p.Version, p.Environment, orDash(string(p.Strategy)), p.TotalHosts(), len(p.Phases))
	fmt.Fprintf(w, "On failure: %s once more than %d %s failed\n", orDash(string(p.OnFailure)), p.MaxFailed, plural(p.MaxFailed, "host has", "hosts have"))
	if p.StartAt != nil {
		fmt.Fprintf(w, "Starts at: %s\n", p.StartAt.Format(time.RFC3339))
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "PHASE\tNAME\tBATCH\tSIZE\tHOSTS\tCHECKS")
	for i, ph := range p.Phases {
		checks := strings.Join(ph.Checks, ",")
		for j, b := range ph.Batches {
			phase, name, cks := "", "", ""
			if j == 0 {
				phase, name, cks = fmt.Sprint(i), ph.Name, checks
			}
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d\t%s\t%s\n", phase, name, j+1, len(ph.Batches), len(b), strings.Join(b, ", "), orDash(cks))
		}
		if len(ph.Batches) == 0 {
			fmt.Fprintf(tw, "%d\t%s\t-\t0\t(no hosts)\t%s\n", i, ph.Name, orDash(checks))
		}
	}
	tw.Flush()
}

func printRolloutList(w io.Writer, p painter, l contracts.RolloutList) {
	if len(l.Rollouts) == 0 {
		fmt.Fprintln(w, "No rollouts.")
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ROLLOUT\tAPP\tVERSION\tENVIRONMENT\tSTATE\tPHASE\tHOSTS\tUPDATED")
	for _, r := range l.Rollouts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Rollout, r.App, r.Version, r.Environment,
			p.state(string(r.State)), phaseNumber(r.Phase), countsShort(r.Counts), age(r.UpdatedAt, time.Now()))
	}
	tw.Flush()
}

func printRollout(w io.Writer, p painter, v contracts.RolloutView) {
	tw := newTable(w)
	fmt.Fprintf(tw, "Rollout:\t%s\n", v.Rollout)
	fmt.Fprintf(tw, "App:\t%s@%s\n", v.App, v.Version)
	fmt.Fprintf(tw, "Environment:\t%s\n", v.Environment)
	state := p.state(string(v.State))
	if v.Reason != "" {
		state += " (" + v.Reason + ")"
	}
	fmt.Fprintf(tw, "State:\t%s\n", state)
	if v.QueuePosition > 0 {
		fmt.Fprintf(tw, "Queue position:\t%d in %s\n", v.QueuePosition, v.Environment)
	}
	fmt.Fprintf(tw, "Hosts:\t%s\n", countsLong(v.Counts))
	if len(v.RunOrder) > 0 {
		fmt.Fprintf(tw, "Run order:\t%s\n", strings.Join(v.RunOrder, ", "))
	}
	if v.RequestedBy != "" {
		fmt.Fprintf(tw, "Requested by:\t%s\n", v.RequestedBy)
	}
	fmt.Fprintf(tw, "Created:\t%s\n", stamp(v.CreatedAt, time.Now()))
	fmt.Fprintf(tw, "Updated:\t%s\n", stamp(v.UpdatedAt, time.Now()))
	tw.Flush()
	if len(v.Phases) == 0 {
		printOffer(w, v.Offer)
		return
	}
	fmt.Fprintln(w)
	tw = newTable(w)
	fmt.Fprintln(tw, "PHASE\tNAME\tSTATE\tBATCHES\tHOSTS")
	for _, ph := range v.Phases {
		name := ph.Name
		if ph.Kind != contracts.StepPhase {
			name += " (" + ph.Kind.String() + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\n", ph.Index, name, p.state(ph.State), ph.Batches, len(ph.Hosts))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = newTable(w)
	fmt.Fprintln(tw, "HOST\tPHASE\tBATCH\tSTATE\tATTEMPT\tERROR")
	for _, ph := range v.Phases {
		for _, h := range ph.Hosts {
			attempt := "-"
			if h.Attempt > 0 {
				attempt = fmt.Sprint(h.Attempt)
			}
			state := p.state(h.State)
			if h.Rollback != "" {
				state += ", rollback " + p.state(h.Rollback)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", h.Name, ph.Name, h.Batch, state, attempt, orDash(oneLine(h.Error)))
		}
	}
	tw.Flush()
	printOffer(w, v.Offer)
}

func printWindows(w io.Writer, l contracts.WindowList) {
	if len(l.Windows) == 0 {
		fmt.Fprintln(w, "No windows.")
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tENVIRONMENT\tKIND\tSTART\tEND\tTIMEZONE\tREASON")
	for _, win := range l.Windows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", win.ID, win.Environment, win.Kind,
			inZone(win.Start, win.TimeZone), inZone(win.End, win.TimeZone), orDash(win.TimeZone), orDash(oneLine(win.Reason)))
	}
	tw.Flush()
}

// inZone shows an instant in the zone its window was written in.
func inZone(t time.Time, zone string) string {
	if loc, err := time.LoadLocation(zone); zone != "" && err == nil {
		t = t.In(loc)
	}
	return t.Format(time.RFC3339)
}

// eventLine is one line of `rollwave events` and of plain progress output.
func eventLine(p painter, seq string, env contracts.Envelope, ev contracts.Event) string {
	typ := eventTypeName(env.Type)
	ts := env.Time.Local().Format("15:04:05")
	if seq != "" {
		seq += "  "
	}
	return fmt.Sprintf("%s%s  %s/%s  %s  %s", seq, p.paint(ansiDim, ts), ev.Environment, ev.Rollout,
		p.paint(ansiBold, typ), eventDetail(p, contracts.EventType(typ), ev))
}

func eventDetail(p painter, t contracts.EventType, ev contracts.Event) string {
	phase := ""
	if ev.Phase != nil {
		phase = fmt.Sprintf("phase %d %s", ev.Phase.Index, ev.Phase.Name)
	}
	by := func() string {
		s := ""
		if ev.Actor != "" {
			s = "by " + ev.Actor
		}
		if ev.Reason != "" {
			s = strings.TrimSpace(s + ": " + oneLine(ev.Reason))
			s = strings.TrimPrefix(s, ": ")
		}
		return s
	}
	switch t {
	case contracts.EventPlanned:
		if ev.Plan != nil {
			return fmt.Sprintf("%s@%s, %d hosts in %d phases", ev.App, ev.Version, ev.Plan.TotalHosts(), len(ev.Plan.Phases))
		}
		if r := ev.PlanRef; r != nil {
			return fmt.Sprintf("%s@%s, %d hosts in %d phases (plan stored by reference, %d bytes)", ev.App, ev.Version, r.Summary.Hosts, len(r.Summary.Phases), r.Size)
		}
		return ev.App + "@" + ev.Version
	case contracts.EventRejected:
		reasons := make([]string, len(ev.Reasons))
		for i, r := range ev.Reasons {
			reasons[i] = fieldMessage(r.Field, r.Message)
		}
		return p.paint(ansiRed, strings.Join(reasons, "; "))
	case contracts.EventQueued:
		s := by()
		if ev.Until != nil {
			s = strings.TrimSpace(s + " until " + ev.Until.Local().Format(time.RFC3339))
		}
		return s
	case contracts.EventStarted:
		return ev.App + "@" + ev.Version
	case contracts.EventPhaseStarted:
		return fmt.Sprintf("%s: %d hosts", phase, hostCount(ev))
	case contracts.EventBatchStarted:
		return fmt.Sprintf("%s batch %d: %s", phase, ev.Batch, strings.Join(ev.Hosts, ", "))
	case contracts.EventHostSucceeded, contracts.EventHostFailed:
		if ev.Host == nil {
			return phase
		}
		s := fmt.Sprintf("%s (%s batch %d) %s in %s", ev.Host.Name, phase, ev.Batch,
			p.state(string(ev.Host.Status)), ev.Host.Duration.D().Round(time.Millisecond))
		if ev.Host.Error != "" {
			s += ": " + oneLine(ev.Host.Error)
		}
		return s
	case contracts.EventPhaseCompleted:
		return phase
	case contracts.EventCompleted:
		return p.paint(ansiGreen, countsLongPtr(ev.Counts))
	case contracts.EventFailed, contracts.EventAborted:
		return p.paint(ansiRed, strings.TrimSpace(by()+" "+countsParen(ev.Counts)))
	case contracts.EventSkipped, contracts.EventReordered, contracts.EventExcluded, contracts.EventPaused:
		return runtimeDetail(t, ev, by())
	}
	return by()
}

func countsShort(c contracts.Counts) string {
	s := fmt.Sprintf("%d/%d", c.Succeeded, c.Total)
	if c.Failed > 0 {
		s += fmt.Sprintf(" (%d failed)", c.Failed)
	}
	return s
}

func countsLong(c contracts.Counts) string {
	s := fmt.Sprintf("%d total, %d succeeded, %d failed, %d running, %d pending", c.Total, c.Succeeded, c.Failed, c.Running, c.Pending)
	if c.Skipped > 0 {
		s += fmt.Sprintf(", %d skipped", c.Skipped)
	}
	if c.Excluded > 0 {
		s += fmt.Sprintf(", %d excluded", c.Excluded)
	}
	return s
}

func countsLongPtr(c *contracts.Counts) string {
	if c == nil {
		return ""
	}
	return countsLong(*c)
}

func countsParen(c *contracts.Counts) string {
	if c == nil {
		return ""
	}
	return "(" + countsLong(*c) + ")"
}

// phaseNumber shows a phase's index as JSON has it: phases are numbered
// from 0 everywhere (text, JSON, events), batches from 1.
func phaseNumber(i int) string {
	if i < 0 {
		return "-"
	}
	return fmt.Sprint(i)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// age shows an API timestamp as how long ago it was ("3m ago"), the way
// kubectl does; what does not parse is shown as it came.
func age(ts string, now time.Time) string {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return orDash(ts)
	}
	return humanDuration(now.Sub(t)) + " ago"
}

// stamp shows an API timestamp to the second, in local time, with its age.
func stamp(ts string, now time.Time) string {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return orDash(ts)
	}
	return t.Local().Format(time.RFC3339) + " (" + age(ts, now) + ")"
}

// humanDuration rounds d to its largest unit: 45s, 12m, 5h, 3d.
func humanDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a table row on one line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// decodeEvent reads an event envelope and its data; unknown fields and
// event types a newer server adds are tolerated.
func decodeEvent(b []byte) (contracts.Envelope, contracts.Event, error) {
	return contracts.DecodeEvent(b)
}

// eventTypeName returns the short name of an event type id
// ("host_failed"), or the id itself when it is not an event type.
func eventTypeName(typeID string) string {
	if t, err := contracts.ParseEventTypeID(typeID); err == nil {
		return string(t)
	}
	return typeID
}

// hostCount is how many hosts an event is about: its list may be cut to
// contracts.MaxEventHosts names, with the total beside it.
func hostCount(ev contracts.Event) int {
	return max(len(ev.Hosts), ev.HostsTotal)
}
