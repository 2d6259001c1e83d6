package discovery

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/discovery/internal/inventory"
	"github.com/rollwave/rollwave/services/discovery/internal/plugin"
)

// EnvSource is a discovery source given outside the YAML inventory, as
// --inventory ENV=SOURCE: an Ansible INI file or an executable
// dynamic-inventory script whose hosts populate environment Env.
type EnvSource struct {
	Env  string
	Path string
}

const (
	defaultSourceInterval = time.Minute
	defaultReloadInterval = 5 * time.Second
	// maxInventoryFile bounds the YAML inventory read on a reload.
	maxInventoryFile = 16 << 20
	// publishTimeout bounds publishing one refresh's events.
	publishTimeout = 5 * time.Second
)

// source is one discovery source and what its last runs gave.
type source struct {
	env      string
	path     string
	interval time.Duration
	timeout  time.Duration
	next     time.Time
	// hosts is the last good output; good reports that there was one.
	hosts  []contracts.Host
	good   bool
	status contracts.SourceStatus
}

func (s *source) key() string { return s.env + "\x00" + s.path }

// refresher holds the inputs the live inventory is composed of: the last
// good YAML inventory and the last good output of every source. Only the
// refresh goroutine (and Start, before it runs) touches it.
type refresher struct {
	base       inventory.Inventory
	yamlSum    [sha256.Size]byte
	yamlStatus contracts.SourceStatus
	nextReload time.Time
	sources    []*source
	// agents are keyed by agentKey.
	agents map[string]*agent
}

// invEvent is one inventory event to publish.
type invEvent struct {
	env string
	t   contracts.EventType
	d   contracts.InventoryEvent
}

// initRefresher sets up the sources of the first inventory. It does no
// I/O beyond what New already did.
func (s *Service) initRefresher(inv inventory.Inventory, raw []byte) {
	r := &s.ref
	r.base = inv
	r.yamlSum = sha256.Sum256(raw)
	if s.cfg.InventoryPath != "" {
		now := s.clock.Now()
		r.yamlStatus = contracts.SourceStatus{Source: s.cfg.InventoryPath, Kind: "yaml", LastRun: &now, LastSuccess: &now}
	}
	r.sources = s.sourcesOf(inv, nil)
	s.inv.Store(&inv)
}

// sourcesOf lists the sources of an inventory and of the configuration,
// keeping the state of those that were already known.
func (s *Service) sourcesOf(inv inventory.Inventory, old []*source) []*source {
	known := map[string]*source{}
	for _, src := range old {
		known[src.key()] = src
	}
	var out []*source
	add := func(env, path string, interval, timeout time.Duration) {
		if interval <= 0 {
			interval = s.cfg.SourceInterval
		}
		if timeout <= 0 {
			timeout = s.cfg.SourceTimeout
		}
		n := &source{env: env, path: path, interval: interval, timeout: timeout,
			status: contracts.SourceStatus{Environment: env, Source: path}}
		if prev := known[n.key()]; prev != nil {
			prev.interval, prev.timeout = interval, timeout
			n = prev
		}
		out = append(out, n)
	}
	dir := ""
	if s.cfg.InventoryPath != "" {
		dir = filepath.Dir(s.cfg.InventoryPath)
	}
	for _, e := range inv.Environments {
		for _, src := range e.Sources {
			p := src.Path
			if !filepath.IsAbs(p) && dir != "" {
				p = filepath.Join(dir, p)
			}
			add(e.Name, p, src.Interval, src.Timeout)
		}
	}
	for _, src := range s.cfg.Sources {
		add(src.Env, src.Path, 0, 0)
	}
	return out
}

// startRefresh runs every source once, so the first answers already hold
// their hosts, and then keeps refreshing in the background.
func (s *Service) startRefresh(ctx context.Context) {
	s.refresh(ctx, false)
	rctx, cancel := context.WithCancel(context.Background())
	s.refreshCancel = cancel
	s.refreshDone = make(chan struct{})
	go s.refreshLoop(rctx)
}

// refreshLoop runs due sources and reloads a changed YAML file, waiting on
// the injected clock between rounds.
func (s *Service) refreshLoop(ctx context.Context) {
	defer close(s.refreshDone)
	for {
		// With nothing scheduled (no file to watch, no source, no agent
		// online) the loop waits for a kick only, not on the clock.
		var due <-chan time.Time
		if d, ok := s.untilDue(s.clock.Now()); ok {
			due = s.clock.After(d)
		}
		select {
		case <-ctx.Done():
			return
		case <-due:
		case <-s.kick:
		}
		s.refresh(ctx, true)
	}
}

// untilDue is the wait until the next source, reload or liveness change
// is due; false when nothing is.
func (s *Service) untilDue(now time.Time) (time.Duration, bool) {
	s.refMu.Lock()
	defer s.refMu.Unlock()
	r := &s.ref
	var next time.Time
	if s.cfg.InventoryPath != "" {
		next = r.nextReload
	}
	for _, src := range r.sources {
		if next.IsZero() || src.next.Before(next) {
			next = src.next
		}
	}
	if t := r.nextOffline(s.cfg.OfflineAfter); !t.IsZero() && (next.IsZero() || t.Before(next)) {
		next = t
	}
	if next.IsZero() {
		return 0, false
	}
	return max(next.Sub(now), time.Millisecond), true
}

// refresh reloads the YAML file when it changed, runs the sources that
// are due, and swaps in the inventory composed from the last good inputs.
// A failing input keeps its last good state, records the failure in the
// status and raises a source_failed event.
func (s *Service) refresh(ctx context.Context, announce bool) {
	// Events are published after the lock is let go, so queries do not
	// wait for the broker.
	var publish func()
	defer func() {
		if publish != nil {
			publish()
		}
	}()
	s.refMu.Lock()
	defer s.refMu.Unlock()
	r := &s.ref
	now := s.clock.Now()
	var failed []contracts.InventoryEvent
	if s.cfg.InventoryPath != "" && !now.Before(r.nextReload) {
		r.nextReload = now.Add(s.cfg.ReloadInterval)
		if err := s.reloadYAML(now); err != nil {
			r.yamlStatus.Error = err.Error()
			r.yamlStatus.Failures++
			failed = append(failed, contracts.InventoryEvent{Source: s.cfg.InventoryPath, Error: err.Error()})
			s.log.Warn("inventory file not reloaded; keeping the last good one", "path", s.cfg.InventoryPath, "err", err)
		}
	}
	prevHosts := map[string][]contracts.Host{}
	for _, src := range r.sources {
		if now.Before(src.next) {
			continue
		}
		src.next = now.Add(src.interval)
		prevHosts[src.key()] = src.hosts
		if err := s.runSource(ctx, src, now); err != nil {
			failed = append(failed, s.sourceFailed(src, err))
		}
	}
	next, problems := s.compose()
	for env, err := range problems {
		// The composition refused the new outputs: put the sources of this
		// environment that ran now back to what they gave before.
		for _, src := range r.sources {
			if prev, ran := prevHosts[src.key()]; ran && src.env == env {
				src.hosts = prev
				failed = append(failed, s.sourceFailed(src, err))
			}
		}
	}
	if len(problems) > 0 {
		next, _ = s.compose()
	}
	live := s.liveness(now)
	old := s.inv.Swap(&next)
	s.updateMetrics(next)
	if !announce {
		// The first round after a start: the hosts are not new to anyone
		// who watched before the restart; only failures are news.
		old = &next
	}
	publish = func() { s.publishChanges(ctx, *old, next, failed, live) }
}

func (s *Service) sourceFailed(src *source, err error) contracts.InventoryEvent {
	src.status.Error = err.Error()
	src.status.Failures++
	s.log.Warn("discovery source failed; keeping its last good hosts", "environment", src.env, "source", src.path, "err", err)
	return contracts.InventoryEvent{Environment: src.env, Source: src.path, Error: err.Error()}
}

// runSource fetches one source; on success its hosts replace the last good.
func (s *Service) runSource(ctx context.Context, src *source, now time.Time) error {
	// LastRun is set when the run has ended, so a status that shows it
	// also shows that run's outcome.
	defer func() { src.status.LastRun = &now }()
	src.status.Kind = sourceKind(src.path)
	// Status queries must not wait for a slow script: only this goroutine
	// changes the sources, so the lock can be let go while it runs.
	s.refMu.Unlock()
	inv, err := plugin.Fetch(ctx, src.path, plugin.Limits{Timeout: src.timeout, MaxBytes: s.cfg.SourceMaxBytes})
	s.refMu.Lock()
	if err != nil {
		return err
	}
	hosts, err := inv.Hosts()
	if err != nil {
		return fmt.Errorf("source %s: %w", src.path, err)
	}
	src.hosts, src.good = hosts, true
	src.status.LastSuccess = &now
	src.status.Hosts = len(hosts)
	src.status.Failures = 0
	src.status.Error = ""
	return nil
}

func sourceKind(path string) string {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o111 != 0 {
		return "script"
	}
	return "ini"
}

// reloadYAML parses the inventory file when its content changed. A file
// that does not parse leaves the last good inventory in place.
func (s *Service) reloadYAML(now time.Time) error {
	r := &s.ref
	r.yamlStatus.LastRun = &now
	b, err := readBounded(s.cfg.InventoryPath, maxInventoryFile)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	if sum == r.yamlSum {
		return nil
	}
	inv, err := inventory.Parse(b)
	if err != nil {
		return fmt.Errorf("inventory %s: %w", s.cfg.InventoryPath, err)
	}
	r.base, r.yamlSum = inv, sum
	r.yamlStatus.LastSuccess = &now
	r.yamlStatus.Error, r.yamlStatus.Failures = "", 0
	r.sources = s.sourcesOf(inv, r.sources)
	s.log.Info("inventory file reloaded", "path", s.cfg.InventoryPath, "environments", len(inv.Environments))
	return nil
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("inventory %s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// compose builds the live inventory from the base and the last good
// output of each source. It returns the environments it could not compose
// (for example a host given by two sources); those keep their hosts from
// the base alone until the next good round.
func (s *Service) compose() (inventory.Inventory, map[string]error) {
	r := &s.ref
	byEnv := map[string][]contracts.Host{}
	var order []string
	for _, src := range r.sources {
		if _, ok := byEnv[src.env]; !ok {
			order = append(order, src.env)
			byEnv[src.env] = nil
		}
		byEnv[src.env] = append(byEnv[src.env], src.hosts...)
	}
	// Lifecycles come from the YAML inventory alone.
	out := inventory.Inventory{Lifecycle: r.base.Lifecycle, AppLifecycles: r.base.AppLifecycles}
	problems := map[string]error{}
	seen := map[string]bool{}
	known := map[string]bool{}
	for _, e := range r.base.Environments {
		known[e.Name] = true
	}
	// Announced hosts join environments that exist, when no other input
	// lists them already; an agent alone cannot create an environment.
	for env, hosts := range r.agentHosts() {
		if !known[env] && byEnv[env] == nil && !slices.Contains(order, env) {
			continue
		}
		listed := map[string]bool{}
		for _, h := range byEnv[env] {
			listed[strings.ToLower(h.Name)] = true
		}
		if e, ok := r.base.Find(env); ok {
			for _, h := range e.Hosts {
				listed[strings.ToLower(h.Name)] = true
			}
		}
		for _, h := range hosts {
			if !listed[strings.ToLower(h.Name)] {
				byEnv[env] = append(byEnv[env], h)
			}
		}
	}
	for _, e := range r.base.Environments {
		seen[e.Name] = true
		env, err := e.WithSourceHosts(byEnv[e.Name])
		if err != nil {
			problems[e.Name] = err
			env = e
		}
		out.Environments = append(out.Environments, env)
	}
	for _, name := range order {
		if seen[name] {
			continue
		}
		base := inventory.Environment{Name: name, Pool: s.cfg.SourcePool, Driver: s.cfg.SourceDriver}
		env, err := base.WithSourceHosts(byEnv[name])
		if err != nil {
			problems[name] = err
			env = base
		}
		out.Environments = append(out.Environments, env)
	}
	return out, problems
}

func (s *Service) updateMetrics(inv inventory.Inventory) {
	for _, e := range inv.Environments {
		s.metrics.hosts.WithLabelValues(e.Name).Set(float64(len(e.Hosts)))
	}
}

// publishChanges raises host_added, host_removed and host_changed for the
// difference between two inventories, and source_failed for each failure.
// Events are best effort: the inventory is already in place.
func (s *Service) publishChanges(ctx context.Context, old, next inventory.Inventory, failed []contracts.InventoryEvent, live []invEvent) {
	type ev = invEvent
	var evs []ev
	for _, f := range failed {
		env := f.Environment
		if env == "" {
			env = "_all"
		}
		evs = append(evs, ev{env, contracts.EventSourceFailed, f})
	}
	oldHosts := map[string]map[string]contracts.Host{}
	for _, e := range old.Environments {
		oldHosts[e.Name] = map[string]contracts.Host{}
		for _, h := range e.Hosts {
			oldHosts[e.Name][h.Name] = h
		}
	}
	for _, e := range next.Environments {
		before := oldHosts[e.Name]
		for _, h := range e.Hosts {
			prev, ok := before[h.Name]
			switch {
			case !ok:
				evs = append(evs, ev{e.Name, contracts.EventHostAdded, contracts.InventoryEvent{Environment: e.Name, Host: &h}})
			case !reflect.DeepEqual(prev, h):
				evs = append(evs, ev{e.Name, contracts.EventHostChanged, contracts.InventoryEvent{Environment: e.Name, Host: &h}})
			}
			delete(before, h.Name)
		}
		delete(oldHosts, e.Name)
		for _, name := range sortedNames(before) {
			evs = append(evs, ev{e.Name, contracts.EventHostRemoved, contracts.InventoryEvent{Environment: e.Name, Host: &contracts.Host{Name: name}}})
		}
	}
	for env, before := range oldHosts {
		for _, name := range sortedNames(before) {
			evs = append(evs, ev{env, contracts.EventHostRemoved, contracts.InventoryEvent{Environment: env, Host: &contracts.Host{Name: name}}})
		}
	}
	evs = append(evs, live...)
	if len(evs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	at := s.clock.Now()
	for i, e := range evs {
		id := fmt.Sprintf("inventory/%s/%d/%d-%s", e.env, at.UnixNano(), i, e.t)
		m, err := natsx.EnvelopeMsg(ctx, contracts.InventoryEventSubject(e.env, e.t), contracts.InventoryEventTypeID(e.t), id, "discovery", e.env, at, e.d)
		if err == nil {
			_, err = s.deps.JS.PublishMsg(ctx, m)
		}
		if err != nil {
			s.log.Warn("inventory event not published", "type", e.t, "environment", e.env, "err", err)
		}
	}
}

func sortedNames(m map[string]contracts.Host) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, strings.Compare)
	return out
}

// Status returns the state of the YAML inventory file and every source.
func (s *Service) Status(ctx context.Context, _ contracts.DiscoveryStatusQuery) (contracts.DiscoveryStatus, error) {
	s.refMu.Lock()
	defer s.refMu.Unlock()
	var out contracts.DiscoveryStatus
	if s.cfg.InventoryPath != "" {
		out.Sources = append(out.Sources, s.ref.yamlStatus)
	}
	for _, src := range s.ref.sources {
		out.Sources = append(out.Sources, src.status)
	}
	if out.Sources == nil {
		out.Sources = []contracts.SourceStatus{}
	}
	return out, ctx.Err()
}
