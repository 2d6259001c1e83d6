// Package agent is the host agent (rollwave agent): it runs on a deployment
// target, announces the host to discovery with a heartbeat, and serves the
// host actions the executor's agent driver sends it. A deploy fetches the
// release artifact from the object store, verifies its digest, unpacks it
// into releases/<version>, switches current atomically and runs the
// operator's commands from the agent's own configuration. Every completed
// action is journaled on the host before the agent answers, so a
// redelivered action is answered from the journal and does nothing.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/procgroup"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/services/agent/internal/archive"
)

// Config configures an agent. Zero values take the documented defaults.
type Config struct {
	// Name is the host's name, as the inventory knows it (required).
	Name string
	// Environment is the environment the host belongs to (required).
	Environment string
	// Address, Groups and Labels describe the host to discovery.
	Address string
	Groups  []string
	Labels  map[string]string
	// Dir is the agent's root: <Dir>/<app>/releases/<version>,
	// <Dir>/<app>/current, and the journal in <Dir>/.journal (required).
	Dir string
	// Keep is how many releases of an app are kept (default 3; current is
	// always kept), so a rollback to one of them downloads nothing.
	Keep int
	// Interval is the heartbeat interval (default 5s).
	Interval time.Duration
	// Stop, Start and Restart are the operator's commands, as argv (never
	// from an action). A deploy runs Stop before switching current, and
	// Start or Restart after it; each runs in the new current directory
	// with ROLLWAVE_* variables describing the action.
	Stop, Start, Restart []string
	// Signal, with PidFile, is sent to the process in the pid file after
	// the switch instead of, or after, Start/Restart (such as SIGHUP).
	Signal  syscall.Signal
	PidFile string
	// CommandTimeout bounds each command (default 2m).
	CommandTimeout time.Duration
	// FetchTimeout bounds the download of one artifact (default 10m).
	FetchTimeout time.Duration
	// MaxUnpacked bounds the bytes one release unpacks to
	// (default 4 GiB).
	MaxUnpacked int64
	// OutputTail is how many bytes of command output a result keeps
	// (default 4096).
	OutputTail int
	// JournalRetention is how long completed actions stay in the journal
	// (default 30 days: longer than an action can wait in the work queue
	// or keep its claim, so any redelivery still finds its entry).
	JournalRetention time.Duration
	// Version is the agent's own version, for the announcement.
	Version string
	// Source is the envelope source (default "rollwave/agent").
	Source string
	// Env is the base environment of commands (default: PATH only).
	Env []string
}

// Defaults.
const (
	DefaultKeep           = 3
	DefaultInterval       = 5 * time.Second
	DefaultCommandTimeout = 2 * time.Minute
	DefaultOutputTail     = 4096
	DefaultRetention      = 30 * 24 * time.Hour
)

// opTimeout bounds one broker call.
const opTimeout = 10 * time.Second

// journalDir is the journal's directory under Dir; no app name starts
// with '.'.
const journalDir = ".journal"

// Check reports what is wrong with the configuration, before connecting.
func (c Config) Check() error { return c.applyDefaults() }

func (c *Config) applyDefaults() error {
	if c.Keep == 0 {
		c.Keep = DefaultKeep
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.FetchTimeout == 0 {
		c.FetchTimeout = 10 * time.Minute
	}
	if c.MaxUnpacked == 0 {
		c.MaxUnpacked = archive.DefaultMaxUnpacked
	}
	if c.OutputTail == 0 {
		c.OutputTail = DefaultOutputTail
	}
	if c.JournalRetention == 0 {
		c.JournalRetention = DefaultRetention
	}
	if c.Source == "" {
		c.Source = "rollwave/agent"
	}
	if c.Env == nil {
		c.Env = []string{"PATH=" + os.Getenv("PATH")}
	}
	var fe contracts.FieldErrors
	var ce *contracts.Error
	if errors.As(contracts.CheckHostName("name", c.Name), &ce) {
		fe.Add("name", "%s", ce.Message)
	}
	if !contracts.ValidToken(c.Environment) {
		fe.Add("environment", "must be 1-128 letters, digits, '-' or '_', got %q", c.Environment)
	}
	// Discovery refuses an announcement whose address is not host[:port];
	// refusing it here says so at start instead of a host never seen.
	if c.Address != "" {
		if msg := contracts.AddressProblem(c.Address); msg != "" {
			fe.Add("address", "%q %s", c.Address, msg)
		}
	}
	if c.Dir == "" {
		fe.Add("dir", "is required: the agent's root directory")
	} else if !filepath.IsAbs(c.Dir) {
		fe.Add("dir", "must be an absolute path, got %q", c.Dir)
	}
	if c.Keep < 1 {
		fe.Add("keep", "must be at least 1, got %d", c.Keep)
	}
	if c.Interval < 0 || c.CommandTimeout < 0 || c.MaxUnpacked < 0 || c.OutputTail < 0 || c.JournalRetention < 0 || c.FetchTimeout < 0 {
		fe.Add("config", "durations and sizes must not be negative")
	}
	for name, argv := range map[string][]string{"stop": c.Stop, "start": c.Start, "restart": c.Restart} {
		if argv != nil && (len(argv) == 0 || argv[0] == "") {
			fe.Add(name, "must name a program")
		}
	}
	if len(c.Start) > 0 && len(c.Restart) > 0 {
		fe.Add("restart", "cannot be combined with start")
	}
	if (c.Signal != 0) != (c.PidFile != "") {
		fe.Add("signal", "a signal needs a pid file and a pid file a signal")
	}
	return fe.Err()
}

// Service is a running agent.
type Service struct {
	deps    service.Deps
	cfg     Config
	log     *slog.Logger
	clock   clock.Clock
	journal *journal

	mu       sync.Mutex
	state    int // 0 new, 1 started, 2 stopped
	store    jetstream.ObjectStore
	sub      *nats.Subscription
	inflight map[string][]string // action id -> reply subjects waiting
	// running cancels the run of an action, by rollout, on an abort.
	running  map[string]running
	abortSub *nats.Subscription
	// deploying serialises deploys: one action changes the host at a time.
	deploying sync.Mutex
	announce  chan struct{}
	runCtx    context.Context
	cancelRun context.CancelFunc
	work      sync.WaitGroup
	hbDone    chan struct{}
}

var _ service.Service = (*Service)(nil)

// New returns an agent; Start starts it.
func New(deps service.Deps, cfg Config) (*Service, error) {
	if deps.NC == nil || deps.JS == nil {
		return nil, errors.New("agent: deps.NC and deps.JS are required")
	}
	if err := cfg.applyDefaults(); err != nil {
		return nil, fmt.Errorf("agent config: %w", err)
	}
	deps = deps.WithDefaults()
	return &Service{
		deps:     deps,
		cfg:      cfg,
		log:      deps.Log.With("service", "agent", "host", cfg.Name, "environment", cfg.Environment),
		clock:    deps.Clock,
		inflight: map[string][]string{},
		running:  map[string]running{},
		announce: make(chan struct{}, 1),
	}, nil
}

// Name implements service.Service.
func (s *Service) Name() string { return "agent" }

// Start opens the journal, subscribes to the host's action subject and
// starts the heartbeat. The artifacts bucket is opened when first needed,
// so an agent starts before anything was pushed.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != 0 {
		return errors.New("agent: Start called twice")
	}
	if err := os.MkdirAll(s.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("agent start: %w", err)
	}
	j, err := openJournal(filepath.Join(s.cfg.Dir, journalDir))
	if err != nil {
		return fmt.Errorf("agent start: %w", err)
	}
	s.journal = j
	s.pruneJournal()
	s.runCtx, s.cancelRun = context.WithCancel(context.WithoutCancel(ctx))
	subject := contracts.AgentActSubject(s.cfg.Environment, s.cfg.Name)
	// A queue group: should two agents claim one host by mistake, each
	// action still goes to one of them only.
	s.sub, err = s.deps.NC.QueueSubscribe(subject, "agent", s.onAction)
	if err != nil {
		s.cancelRun()
		return fmt.Errorf("agent start: subscribe %s: %w", subject, err)
	}
	s.abortSub, err = s.deps.NC.Subscribe(contracts.EventFilter(s.cfg.Environment, "", contracts.EventAborted), s.onAbort)
	if err != nil {
		_ = s.sub.Unsubscribe()
		s.cancelRun()
		return fmt.Errorf("agent start: subscribe to aborted events: %w", err)
	}
	if err := s.deps.NC.FlushWithContext(ctx); err != nil {
		_ = s.abortSub.Unsubscribe()
		_ = s.sub.Unsubscribe()
		s.cancelRun()
		return fmt.Errorf("agent start: %w", err)
	}
	s.hbDone = make(chan struct{})
	go s.heartbeat()
	s.state = 1
	s.log.Info("agent started", "subject", subject, "dir", s.cfg.Dir)
	return nil
}

// Stop stops taking actions and waits for the one in flight, or, when ctx
// ends first, interrupts it (it is not journaled, so a redelivery runs it
// again).
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.state != 1 {
		s.state = 2
		s.mu.Unlock()
		return nil
	}
	s.state = 2
	s.mu.Unlock()
	if err := s.sub.Drain(); err != nil {
		s.log.Debug("drain action subscription", "err", err)
	}
	if err := s.abortSub.Unsubscribe(); err != nil {
		s.log.Debug("unsubscribe from aborted events", "err", err)
	}
	done := make(chan struct{})
	go func() { s.work.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.cancelRun()
		<-done
		err = fmt.Errorf("agent stop: action interrupted: %w", ctx.Err())
	}
	s.cancelRun()
	<-s.hbDone
	return err
}

// pruneJournal drops journal entries past their retention.
func (s *Service) pruneJournal() {
	if n, err := s.journal.Prune(s.clock.Now().Add(-s.cfg.JournalRetention)); err != nil {
		s.log.Warn("prune journal", "err", err)
	} else if n > 0 {
		s.log.Info("pruned journal", "entries", n)
	}
}

// heartbeat announces the host at once, every Interval and after each
// deploy, so discovery sees the versions it runs; it prunes the journal
// once a day.
func (s *Service) heartbeat() {
	defer close(s.hbDone)
	pruned := s.clock.Now()
	for {
		if now := s.clock.Now(); now.Sub(pruned) >= 24*time.Hour {
			s.pruneJournal()
			pruned = now
		}
		if err := s.publishAnnouncement(s.runCtx); err != nil && s.runCtx.Err() == nil {
			s.log.Warn("announce", "err", err)
		}
		select {
		case <-s.runCtx.Done():
			return
		case <-s.clock.After(s.cfg.Interval):
		case <-s.announce:
		}
	}
}

func (s *Service) publishAnnouncement(ctx context.Context) error {
	ann := contracts.AgentAnnouncement{
		Host: s.cfg.Name, Environment: s.cfg.Environment, Address: s.cfg.Address,
		Groups: slices.Clone(s.cfg.Groups), Labels: maps.Clone(s.cfg.Labels),
		Versions: s.Versions(), Interval: contracts.Duration(s.cfg.Interval), Agent: s.cfg.Version,
	}
	now := s.clock.Now().UTC()
	id := fmt.Sprintf("%s/%s/%d", s.cfg.Environment, contracts.HostToken(s.cfg.Name), now.UnixNano())
	b, err := contracts.Marshal(contracts.TypeAgentAnnouncement, id, s.cfg.Source, s.cfg.Name, now, ann)
	if err != nil {
		return err
	}
	return s.deps.NC.Publish(contracts.AgentAnnounceSubject(s.cfg.Environment), b)
}

// Versions returns the version current points at, per app under Dir.
func (s *Service) Versions() map[string]string {
	entries, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, e := range entries {
		if !e.IsDir() || contracts.CheckApp("app", e.Name()) != nil {
			continue
		}
		if v, err := appDir(filepath.Join(s.cfg.Dir, e.Name())).Current(); err == nil && v != "" {
			out[e.Name()] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// onAction takes one action request. A completed action is answered from
// the journal; a request for an action in flight waits for its result;
// anything else starts the action. It returns at once: the subscription
// keeps reading while an action runs.
func (s *Service) onAction(m *nats.Msg) {
	a, err := decodeAction(m.Data)
	if err != nil {
		s.log.Warn("unreadable action request", "err", err)
		s.reply(m.Reply, contracts.AgentActResult{ActionID: a.ID, Status: contracts.ResultFailed,
			Error: "agent: unreadable action: " + err.Error()})
		return
	}
	if e, ok, err := s.journal.Get(a.ID); err != nil {
		s.reply(m.Reply, failed(a.ID, err))
		return
	} else if ok {
		s.log.Info("action already completed; answering from the journal", "action", a.ID)
		res := e.Result
		res.Replayed = true
		s.reply(m.Reply, res)
		return
	}
	s.mu.Lock()
	if s.state != 1 {
		s.mu.Unlock()
		return // stopping: the requester re-sends to the next agent run
	}
	if waiting, ok := s.inflight[a.ID]; ok {
		s.inflight[a.ID] = append(waiting, m.Reply)
		s.mu.Unlock()
		return
	}
	s.inflight[a.ID] = []string{m.Reply}
	s.work.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.work.Done()
		res, journaled := s.do(a)
		s.mu.Lock()
		waiting := s.inflight[a.ID]
		delete(s.inflight, a.ID)
		s.mu.Unlock()
		if !journaled && s.runCtx.Err() != nil {
			return // interrupted by Stop: leave the requesters to retry
		}
		for _, r := range waiting {
			s.reply(r, res)
		}
	}()
}

// running is an action being run, for aborts.
type running struct {
	rollout string
	cancel  context.CancelCauseFunc
}

// errAborted ends the run of an action whose rollout was aborted.
var errAborted = errors.New("rollout aborted")

// onAbort cancels the runs of an aborted rollout: the executor stops
// waiting for them, so the host should stop too. The executor itself
// sends nothing of an aborted rollout after the abort.
func (s *Service) onAbort(m *nats.Msg) {
	_, rollout, _, err := contracts.ParseEventSubject(m.Subject)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, r := range s.running {
		if r.rollout == rollout {
			s.log.Warn("rollout aborted; stopping its action", "action", id, "rollout", rollout)
			r.cancel(errAborted)
		}
	}
}

func failed(id string, err error) contracts.AgentActResult {
	return contracts.AgentActResult{ActionID: id, Status: contracts.ResultFailed, Error: err.Error()}
}

// decodeAction reads a host action envelope tolerantly (it comes from the
// executor) and checks what the agent relies on.
func decodeAction(b []byte) (contracts.HostAction, error) {
	env, err := contracts.DecodeEnvelope(b)
	if err != nil {
		return contracts.HostAction{}, err
	}
	var a contracts.HostAction
	if err := env.DecodeDataTolerant(contracts.TypeHostAction, &a); err != nil {
		return a, err
	}
	var fe contracts.FieldErrors
	if a.ID == "" {
		fe.Add("data.id", "is required")
	}
	for _, err := range []error{contracts.CheckApp("data.app", a.App), contracts.CheckVersion("data.version", a.Version)} {
		var ce *contracts.Error
		if errors.As(err, &ce) {
			fe.Add(ce.Field, "%s", ce.Message)
		}
	}
	return a, fe.Err()
}

func (s *Service) reply(subject string, res contracts.AgentActResult) {
	if subject == "" {
		return
	}
	now := s.clock.Now().UTC()
	b, err := contracts.Marshal(contracts.TypeAgentActResult, res.ActionID+"/agent-result", s.cfg.Source, res.ActionID, now, res)
	if err != nil {
		s.log.Error("encode reply", "err", err)
		return
	}
	if err := s.deps.NC.Publish(subject, b); err != nil {
		s.log.Warn("reply", "action", res.ActionID, "err", err)
	}
}

// do runs an action and journals its result. It returns the result and
// whether it was journaled; an action interrupted by Stop is not.
func (s *Service) do(a contracts.HostAction) (contracts.AgentActResult, bool) {
	s.deploying.Lock()
	defer s.deploying.Unlock()
	// Journaled meanwhile by a run that held the lock.
	if e, ok, err := s.journal.Get(a.ID); err == nil && ok {
		res := e.Result
		res.Replayed = true
		return res, true
	}
	log := s.log.With("action", a.ID, "app", a.App, "version", a.Version)
	res := contracts.AgentActResult{ActionID: a.ID, Status: contracts.ResultSucceeded}
	if err := s.checkAddressed(a); err != nil {
		res = failed(a.ID, err)
	} else {
		ctx, cancel := context.WithCancelCause(s.runCtx)
		s.mu.Lock()
		s.running[a.ID] = running{rollout: a.Rollout, cancel: cancel}
		s.mu.Unlock()
		out := procgroup.NewTail(s.cfg.OutputTail)
		installed, downloaded, code, err := s.deploy(ctx, a, out, log)
		s.mu.Lock()
		delete(s.running, a.ID)
		s.mu.Unlock()
		res.Installed, res.Downloaded, res.ExitCode, res.Output = installed, downloaded, code, out.String()
		switch {
		case err != nil && errors.Is(context.Cause(ctx), errAborted):
			res.Status, res.Error = contracts.ResultFailed, "rollout aborted: "+err.Error()
		case err != nil:
			res.Status, res.Error = contracts.ResultFailed, err.Error()
		}
		cancel(nil)
	}
	if s.runCtx.Err() != nil {
		log.Warn("action interrupted by shutdown; not journaled")
		return res, false
	}
	// Journal before answering: once anyone hears of the result, a
	// redelivery finds it.
	if err := s.journal.Put(entry{ActionID: a.ID, App: a.App, Version: a.Version, At: s.clock.Now().UTC(), Result: res}); err != nil {
		log.Error("journal the result", "err", err)
		return failed(a.ID, fmt.Errorf("agent could not journal the result (%s): %w", res.Status, err)), false
	}
	log.Info("action completed", "status", res.Status, "error", res.Error, "downloaded", res.Downloaded)
	select {
	case s.announce <- struct{}{}:
	default:
	}
	return res, true
}
