package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-kit/kit/endpoint"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/gateway/internal/input"
)

// MaxBodyBytes bounds request bodies.
const MaxBodyBytes = 1 << 20

// HTTP-level error codes the contract table has no entry for: they concern
// the HTTP request itself and never travel on NATS.
const (
	codeMethodNotAllowed contracts.Code = "method_not_allowed"
	codeTooLarge         contracts.Code = "request_too_large"
)

// errorBody is every error answer: {"code","message","field"} with field
// always present ("" when no one field is at fault), plus the preview's
// full list of reasons.
type errorBody struct {
	Code    contracts.Code         `json:"code"`
	Message string                 `json:"message"`
	Field   string                 `json:"field"`
	Reasons []contracts.FieldError `json:"reasons,omitempty"`
}

func bodyOf(e *contracts.Error) errorBody {
	return errorBody{Code: e.Code, Message: e.Message, Field: e.Field}
}

// httpError is a typed error with an HTTP status the code table does not
// give (404 for an unknown verb, 405, 413, 415).
type httpError struct {
	status int
	err    *contracts.Error
}

func (e *httpError) Error() string { return e.err.Error() }

// decodeFunc reads an endpoint request from an HTTP request; w is there
// for the body limit, which must be able to close the connection.
type decodeFunc func(w http.ResponseWriter, r *http.Request) (any, error)

// encodeFunc writes an endpoint response.
type encodeFunc func(w http.ResponseWriter, resp any)

// server adapts one endpoint to HTTP: decode, call, encode; any error
// becomes a JSON error with the status of its code.
type server struct {
	decode   decodeFunc
	endpoint endpoint.Endpoint
	encode   encodeFunc
	log      *slog.Logger
}

func (s server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := s.decode(w, r)
	if err != nil {
		writeError(w, s.log, r, err)
		return
	}
	resp, err := s.endpoint(r.Context(), req)
	if err != nil {
		writeError(w, s.log, r, err)
		return
	}
	s.encode(w, resp)
}

// jsonStatus encodes a response as JSON with a fixed status.
func jsonStatus(status int) encodeFunc {
	return func(w http.ResponseWriter, resp any) { writeJSON(w, status, resp) }
}

func noContent(w http.ResponseWriter, _ any) { w.WriteHeader(http.StatusNoContent) }

// encodePreview answers 200 with the plan, or 422 with the reasons the
// planner would reject the request.
func encodePreview(w http.ResponseWriter, resp any) {
	pr := resp.(contracts.PreviewReply)
	if pr.Plan != nil {
		writeJSON(w, http.StatusOK, pr)
		return
	}
	body := errorBody{Code: contracts.CodeInvalid, Message: "the planner would reject this request", Reasons: pr.Reasons}
	if len(pr.Reasons) > 0 {
		body.Field, body.Message = pr.Reasons[0].Field, pr.Reasons[0].Message
		if c := pr.Reasons[0].Code; c != "" {
			// Such as lifecycle: still 422, with a code a client can act on.
			body.Code = c
		}
	}
	if body.Reasons == nil {
		body.Reasons = []contracts.FieldError{}
	}
	writeJSON(w, http.StatusUnprocessableEntity, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"code":"internal","message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError answers with a typed error. Internal errors are logged with
// their cause and reach the client only as "internal error".
func writeError(w http.ResponseWriter, log *slog.Logger, r *http.Request, err error) {
	var he *httpError
	if errors.As(err, &he) {
		writeJSON(w, he.status, bodyOf(he.err))
		return
	}
	typed := contracts.AsError(err)
	status := typed.Code.HTTPStatus()
	if status >= 500 {
		log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "code", typed.Code, "err", err)
	}
	writeJSON(w, status, bodyOf(typed))
}

// readBody reads at most MaxBodyBytes of the body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, &httpError{status: http.StatusRequestEntityTooLarge,
			err: &contracts.Error{Code: codeTooLarge, Message: fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes)}}
	case err != nil:
		return nil, contracts.Invalid("", "reading the body: %v", err)
	}
	return b, nil
}

// requireJSON rejects bodies declared as something other than JSON; an
// absent Content-Type is accepted, as curl -d sends a form type by default
// and scripts often omit it.
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" || strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil
	}
	if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(mt) != "application/json" && !strings.HasSuffix(strings.TrimSpace(mt), "+json") {
		return &httpError{status: http.StatusUnsupportedMediaType,
			err: &contracts.Error{Code: contracts.CodeInvalid, Field: "Content-Type", Message: fmt.Sprintf("must be application/json, got %q", ct)}}
	}
	return nil
}

// Decoders, one per route.

func decodeDeploy(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := requireJSON(r); err != nil {
		return nil, err
	}
	b, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	return input.DeployBody(b, NewRolloutID)
}

func decodeListRollouts(_ http.ResponseWriter, r *http.Request) (any, error) {
	return input.ListRollouts(r.URL.Query())
}

func decodeGetRollout(_ http.ResponseWriter, r *http.Request) (any, error) {
	id := r.PathValue("id")
	if err := input.Token("id", id); err != nil {
		return nil, err
	}
	return getRolloutRequest{ID: id}, nil
}

func decodeControl(w http.ResponseWriter, r *http.Request) (any, error) {
	id := r.PathValue("id")
	if err := input.Token("id", id); err != nil {
		return nil, err
	}
	verb, err := contracts.ParseVerb(r.PathValue("verb"))
	if err != nil {
		// An unknown verb is a bad request naming the verb (400), so a
		// client can tell it from an unknown rollout (404).
		return nil, err
	}
	if err := requireJSON(r); err != nil {
		return nil, err
	}
	b, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	var cmd contracts.ControlCommand
	if err := input.OptionalJSON(b, &cmd); err != nil {
		return nil, err
	}
	return controlRequest{ID: id, Verb: verb, Command: cmd}, nil
}

func decodeInventory(_ http.ResponseWriter, r *http.Request) (any, error) {
	env, err := input.EnvironmentOnly(r.URL.Query())
	return contracts.InventoryQuery{Environment: env}, err
}

func decodeListWindows(_ http.ResponseWriter, r *http.Request) (any, error) {
	return decodeWindowQuery(r)
}

// strictBody reads a JSON body into a T, strictly. With a non-empty
// emptyHint, a blank body is refused saying what to send.
func strictBody[T any](w http.ResponseWriter, r *http.Request, emptyHint string) (T, error) {
	var v T
	if err := requireJSON(r); err != nil {
		return v, err
	}
	b, err := readBody(w, r)
	if err != nil {
		return v, err
	}
	if emptyHint != "" && len(strings.TrimSpace(string(b))) == 0 {
		return v, contracts.Invalid("", "the body is empty; send %s", emptyHint)
	}
	err = contracts.DecodeStrict(b, &v)
	return v, err
}

func decodeAddWindow(w http.ResponseWriter, r *http.Request) (any, error) {
	in, err := strictBody[contracts.WindowInput](w, r, "a window as JSON")
	if err != nil {
		return nil, err
	}
	if in.Environment == "" && len(in.Environments) == 0 {
		return nil, contracts.Invalid("environment", "is required (or environments, for several or \"*\")")
	}
	if in.Environment != "" && in.Environment != contracts.AllEnvironments {
		if err := input.Token("environment", in.Environment); err != nil {
			return nil, err
		}
	}
	for i, env := range in.Environments {
		if env == contracts.AllEnvironments {
			continue
		}
		if err := input.Token(fmt.Sprintf("environments[%d]", i), env); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func decodeRemoveWindow(_ http.ResponseWriter, r *http.Request) (any, error) {
	id := r.PathValue("id")
	if err := input.WindowID(id); err != nil {
		return nil, err
	}
	return removeWindowRequest{ID: id}, nil
}

// jsonErrors answers requests the mux has no route for (404) or no method
// for (405) with JSON errors instead of the mux's plain text.
func jsonErrors(mux *http.ServeMux, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// The mux's own handler decides between 404 and 405; record its
		// verdict and the Allow header, then answer in JSON.
		rec := &recorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusMethodNotAllowed:
			allow := rec.header.Get("Allow")
			w.Header().Set("Allow", allow)
			writeJSON(w, http.StatusMethodNotAllowed, errorBody{Code: codeMethodNotAllowed,
				Message: fmt.Sprintf("method %s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, allow)})
		default:
			writeJSON(w, http.StatusNotFound, errorBody{Code: contracts.CodeNotFound,
				Message: fmt.Sprintf("no route %s %s", r.Method, r.URL.Path)})
		}
	})
}

// recorder captures what the mux's fallback handler would answer.
type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
