// Package apperr defines the application error type shared by every module.
//
// Domains name their own error values with New, and the gateway renders any
// error as application/problem+json (RFC 9457) by looking up its Kind. Errors
// that are not *Error are internal: they are logged and shown to clients only
// as "Internal error.".
package apperr

import (
	"errors"
	"net/http"
)

// Kind classifies an error for transport. Each Kind maps to one HTTP status.
type Kind int

// Kinds of application error.
const (
	Internal Kind = iota
	Invalid
	NotFound
	Conflict
	Unauthorized
	Forbidden
	RateLimited
	TooLarge
	Unavailable
	PreconditionFailed
	Gone
)

// Status returns the HTTP status for the kind.
func (k Kind) Status() int {
	switch k {
	case Invalid:
		return http.StatusUnprocessableEntity
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case RateLimited:
		return http.StatusTooManyRequests
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Unavailable:
		return http.StatusServiceUnavailable
	case PreconditionFailed:
		return http.StatusPreconditionFailed
	case Gone:
		return http.StatusGone
	default:
		return http.StatusInternalServerError
	}
}

// FieldError names one field of a request that failed validation.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is an error meant to be shown to the client.
//
// Code is stable and machine-readable (snake_case, e.g. "email_taken");
// Message is a human sentence. Status overrides Kind.Status when non-zero
// (used for 400 vs 422 and 405).
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Status  int
	Fields  []FieldError
	// RetryAfter, in whole seconds, is sent as the Retry-After header when > 0.
	RetryAfter int
}

// New returns an *Error of the given kind, code and message.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// HTTPStatus returns the status the error is rendered with.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Kind.Status()
}

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, ErrEmailTaken) holds for copies made by WithFields and the like.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Kind == e.Kind
}

// Validation returns an Invalid error with code "validation_failed" listing
// the fields at fault.
func Validation(fields ...FieldError) *Error {
	return &Error{Kind: Invalid, Code: "validation_failed", Message: "The request has invalid fields.", Fields: fields}
}

// BadRequest returns an Invalid error rendered with status 400, for requests
// that cannot be parsed at all (malformed JSON, wrong content type).
func BadRequest(code, message string) *Error {
	return &Error{Kind: Invalid, Code: code, Message: message, Status: http.StatusBadRequest}
}

// From returns the *Error in err's chain, or nil when err is internal.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// KindOf returns the Kind of err, Internal when err carries no *Error.
func KindOf(err error) Kind {
	if e := From(err); e != nil {
		return e.Kind
	}
	return Internal
}

// Common errors shared by every module.
var (
	ErrNotFound     = New(NotFound, "not_found", "The resource does not exist.")
	ErrUnauthorized = New(Unauthorized, "unauthorized", "Authentication is required.")
	ErrForbidden    = New(Forbidden, "forbidden", "You are not allowed to do this.")
	ErrInternal     = New(Internal, "internal", "Internal error.")
)
