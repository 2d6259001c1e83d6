package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
)

// The line stop (rollwave freeze --all) is a key of the calendar's state
// bucket that every scheduler watches. The gateway writes it itself rather
// than asking the calendar, so that the line can be stopped and released
// while the calendar service is down.
//
//	GET    /v1/stop   -> 200 LineStop, 404 when the line runs
//	PUT    /v1/stop   LineStopInput -> 200 LineStop
//	DELETE /v1/stop   -> 204

func (s *Service) lineStopBucket(ctx context.Context) (jetstream.KeyValue, error) {
	kv, err := s.deps.JS.KeyValue(ctx, contracts.CalendarStateBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		// As the calendar and the schedulers create it.
		kv, err = s.deps.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: contracts.CalendarStateBucket, History: 1,
			Description: "calendar windows with their occurrences, watched by schedulers"})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = s.deps.JS.KeyValue(ctx, contracts.CalendarStateBucket)
		}
	}
	if err != nil {
		return nil, contracts.Errorf(contracts.CodeUnavailable, "the calendar state bucket cannot be reached: %v", err)
	}
	return kv, nil
}

func (s *Service) handleLineStop(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	if err := s.lineStop(ctx, w, r); err != nil {
		writeError(w, s.log, r, err)
	}
}

func (s *Service) lineStop(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var in contracts.LineStopInput
	if r.Method == http.MethodPut {
		var err error
		if in, err = strictBody[contracts.LineStopInput](w, r, `{"reason": "..."}`); err != nil {
			return err
		}
		if strings.TrimSpace(in.Reason) == "" {
			return contracts.Invalid("reason", "is required: say why the line stops")
		}
		if len(in.Reason) > 1024 || len(in.CreatedBy) > 256 {
			return contracts.Invalid("reason", "must be at most 1024 characters (created_by 256)")
		}
	}
	kv, err := s.lineStopBucket(ctx)
	if err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet:
		e, err := kv.Get(ctx, contracts.LineStopKey)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return contracts.Errorf(contracts.CodeNotFound, "the line is not stopped")
		}
		if err != nil {
			return contracts.Errorf(contracts.CodeUnavailable, "read the line stop: %v", err)
		}
		var ls contracts.LineStop
		if err := json.Unmarshal(e.Value(), &ls); err != nil {
			return fmt.Errorf("decode the line stop: %w", err)
		}
		writeJSON(w, http.StatusOK, ls)
	case http.MethodPut:
		ls := contracts.LineStop{Reason: in.Reason, CreatedBy: in.CreatedBy, Since: s.deps.Clock.Now().UTC()}
		if e, err := kv.Get(ctx, contracts.LineStopKey); err == nil {
			// Stopped already: keep when it began, take the new reason.
			var old contracts.LineStop
			if json.Unmarshal(e.Value(), &old) == nil && !old.Since.IsZero() {
				ls.Since = old.Since
			}
		}
		b, _ := json.Marshal(ls)
		if _, err := kv.Put(ctx, contracts.LineStopKey, b); err != nil {
			return contracts.Errorf(contracts.CodeUnavailable, "write the line stop: %v", err)
		}
		s.log.Warn("line stopped", "reason", ls.Reason, "by", ls.CreatedBy)
		writeJSON(w, http.StatusOK, ls)
	case http.MethodDelete:
		if err := kv.Delete(ctx, contracts.LineStopKey); err != nil {
			return contracts.Errorf(contracts.CodeUnavailable, "release the line stop: %v", err)
		}
		s.log.Warn("line released")
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}
