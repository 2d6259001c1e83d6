package contracts

import (
	"errors"
	"fmt"
)

// Code classifies an error on the wire. Codes are data: the table below maps
// each to a message and an HTTP status, and only the edges (gateway, reply
// encoders) translate them.
type Code string

const (
	CodeInvalid      Code = "invalid_request"
	CodeNotFound     Code = "not_found"
	CodeConflict     Code = "conflict"
	CodeInvalidState Code = "invalid_state"
	CodeUnavailable  Code = "unavailable"
	CodeTimeout      Code = "timeout"
	CodeInternal     Code = "internal"
	// CodeLifecycle: the release has not completed in the environment
	// before this one in its lifecycle.
	CodeLifecycle Code = "lifecycle"
)

// codeInfo is the table of error codes.
var codeInfo = map[Code]struct {
	HTTPStatus int
	Message    string
}{
	CodeInvalid:      {400, "the request is invalid"},
	CodeNotFound:     {404, "no such object"},
	CodeConflict:     {409, "the object already exists or conflicts with another"},
	CodeInvalidState: {409, "the operation is not allowed in the current state"},
	CodeUnavailable:  {503, "a service needed to answer is unavailable"},
	CodeTimeout:      {504, "a service did not answer in time"},
	CodeInternal:     {500, "internal error"},
	CodeLifecycle:    {422, "the release has not passed the environment before this one"},
}

// HTTPStatus returns the HTTP status of a code, 500 for unknown codes.
func (c Code) HTTPStatus() int {
	if info, ok := codeInfo[c]; ok {
		return info.HTTPStatus
	}
	return 500
}

// DefaultMessage returns the table message of a code.
func (c Code) DefaultMessage() string {
	if info, ok := codeInfo[c]; ok {
		return info.Message
	}
	return codeInfo[CodeInternal].Message
}

// Error is the typed error carried in replies and HTTP bodies as
// {"code", "message", "field"}. Field names the offending input field with a
// JSON path such as "phases[1].batch" when there is one.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Errorf builds a typed error.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid builds an invalid_request error about one field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// AsError extracts a typed error from err, or wraps an untyped one as
// internal without leaking its text: internal details stay in logs.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var fe FieldErrors
	if errors.As(err, &fe) && len(fe) > 0 {
		first := fe[0]
		code := CodeInvalid
		if first.Code != "" {
			code = first.Code
		}
		return &Error{Code: code, Field: first.Field, Message: first.Message}
	}
	return &Error{Code: CodeInternal, Message: CodeInternal.DefaultMessage()}
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// FieldError is one problem with one field of an input.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	// Code classifies the problem when it is more than invalid input,
	// such as CodeLifecycle.
	Code Code `json:"code,omitempty"`
}

func (f FieldError) String() string { return f.Field + ": " + f.Message }

// FieldErrors collects every problem found in one input, so a caller fixes
// them all at once instead of one per round trip.
type FieldErrors []FieldError

func (fe FieldErrors) Error() string {
	switch len(fe) {
	case 0:
		return "no errors"
	case 1:
		return fe[0].String()
	}
	return fmt.Sprintf("%s (and %d more)", fe[0].String(), len(fe)-1)
}

// Add records a problem.
func (fe *FieldErrors) Add(field, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when nothing was recorded.
func (fe FieldErrors) Err() error {
	if len(fe) == 0 {
		return nil
	}
	return fe
}
