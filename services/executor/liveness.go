package executor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/executor/internal/claim"
)

// Liveness. Each executor instance refreshes a heartbeat in the executors
// bucket; the bucket's TTL removes it once the instance stops. A claim
// names the instance that holds it, and another executor takes a running
// claim over only when that instance has no heartbeat, so two runs of one
// action never overlap. The holder fences itself: when it cannot refresh
// its heartbeat for fenceAfter, it kills what it runs before anyone may
// consider it dead.
const (
	heartbeatTTL   = 3 * time.Second
	heartbeatEvery = time.Second
	fenceAfter     = heartbeatTTL - heartbeatEvery
	livenessTick   = 100 * time.Millisecond
	// watchEvery is how often a delivery whose action a live instance holds
	// looks again at the claim and the holder's heartbeat.
	watchEvery = 250 * time.Millisecond
)

// Why an action's context was cancelled.
var (
	errFenced  = errors.New("heartbeat lost: action stopped so another executor can take it over")
	errAborted = errors.New("rollout aborted")
)

// newInstance names one run of an executor: its id plus a random suffix, so
// a restart with the same id is a different instance whose predecessor's
// heartbeat must expire before its claims are taken over.
func newInstance(id string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return id + "-" + hex.EncodeToString(b)
}

// ensureHeartbeats opens the executors bucket, creating it if missing.
func ensureHeartbeats(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, contracts.ExecutorsBucket)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("executors bucket: %w", err)
	}
	kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      contracts.ExecutorsBucket,
		Description: "liveness heartbeats of Rollwave executor instances",
		History:     1,
		TTL:         heartbeatTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = js.KeyValue(ctx, contracts.ExecutorsBucket)
	}
	if err != nil {
		return nil, fmt.Errorf("create executors bucket: %w", err)
	}
	return kv, nil
}

// beat refreshes this instance's heartbeat once.
func (s *Service) beat(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, heartbeatEvery)
	defer cancel()
	_, err := s.hb.Put(ctx, claim.Key(s.currentInstance()), []byte(time.Now().UTC().Format(time.RFC3339Nano)))
	return err
}

// heartbeat refreshes the heartbeat until stop closes, and fences the
// instance when refreshing fails for too long. It runs on real time: the
// bucket's TTL does.
func (s *Service) heartbeat(stop <-chan struct{}, lastOK time.Time) {
	tick := time.NewTicker(livenessTick)
	defer tick.Stop()
	lastTry := lastOK
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		now := time.Now()
		if now.Sub(lastTry) >= heartbeatEvery {
			lastTry = now
			if err := s.beat(s.runCtx); err != nil {
				s.log.Warn("refresh heartbeat", "err", err)
			} else {
				lastOK = time.Now()
			}
		}
		if time.Since(lastOK) >= fenceAfter {
			// This instance may count as dead by now: stop what it runs, and
			// continue as a new instance, so that the claims it held are
			// taken over once the old heartbeat has expired, even if the
			// connection comes back before that.
			n := s.running.cancelAll(errFenced)
			old := s.currentInstance()
			s.setInstance(newInstance(s.cfg.ID))
			s.log.Error("heartbeat lost; fenced this instance", "instance", old, "stopped_actions", n)
			lastOK = time.Now() // the new instance's grace starts now
		}
	}
}

func (s *Service) currentInstance() string {
	s.instanceMu.Lock()
	defer s.instanceMu.Unlock()
	return s.instance
}

func (s *Service) setInstance(id string) {
	s.instanceMu.Lock()
	defer s.instanceMu.Unlock()
	s.instance = id
}

// release gives up a running claim this executor holds at revision rev
// and will not finish, so the next delivery claims it afresh instead of
// waiting on a live holder that no longer works on it. The compare-and-
// delete cannot remove a claim someone else changed since.
func (s *Service) release(d delivery, rev uint64) {
	ctx := context.WithoutCancel(s.runCtx)
	err := withOpErr(ctx, func(ctx context.Context) error {
		return s.kv.Delete(ctx, claim.Key(d.action.ID), jetstream.LastRevision(rev))
	})
	if err != nil {
		d.log.Debug("release claim", "err", err)
	}
}

// holderAlive reports whether the instance holding a claim still has a
// heartbeat. A claim without an instance comes from an executor that
// predates heartbeats: only its lease speaks for it, so it counts as dead.
func (s *Service) holderAlive(ctx context.Context, instance string) (bool, error) {
	if instance == "" {
		return false, nil
	}
	entry, err := withOp(ctx, func(ctx context.Context) (jetstream.KeyValueEntry, error) {
		return s.hb.Get(ctx, claim.Key(instance))
	})
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	// The server expires entries a little late; an entry older than the
	// TTL is as dead as a missing one.
	return time.Since(entry.Created()) < heartbeatTTL, nil
}

// running holds the cancel functions of actions in flight, by action id,
// so that fencing and aborts can stop them.
type running struct {
	mu   sync.Mutex
	acts map[string]runningAction
}

type runningAction struct {
	rollout string
	cancel  context.CancelCauseFunc
}

func (r *running) add(id, rollout string, cancel context.CancelCauseFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.acts == nil {
		r.acts = map[string]runningAction{}
	}
	r.acts[id] = runningAction{rollout: rollout, cancel: cancel}
}

func (r *running) remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.acts, id)
}

func (r *running) cancelAll(cause error) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.acts {
		a.cancel(cause)
	}
	return len(r.acts)
}

func (r *running) cancelRollout(rollout string, cause error) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, a := range r.acts {
		if a.rollout == rollout {
			a.cancel(cause)
			n++
		}
	}
	return n
}
