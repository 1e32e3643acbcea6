// Package api holds what every module's HTTP handlers share: the principal
// in the request context, JSON decoding and encoding, errors rendered as
// application/problem+json (RFC 9457), pagination, and the route
// descriptions from which access checks and the OpenAPI document are both
// derived, so the two cannot drift apart.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/logging"
)

// Role names.
const (
	RoleViewer = "viewer"
	RoleAdmin  = "admin"
)

// Principal is who is making a request: a user, optionally acting as one of
// their profiles, through one session, with roles.
type Principal struct {
	UserID    string
	ProfileID string
	SessionID string
	Roles     []string
	// MaturityLevel is the active profile's ceiling (0 when no profile).
	MaturityLevel int
	// Kids is true when the active profile is a kids profile.
	Kids bool
}

// HasRole reports whether p holds role.
func (p *Principal) HasRole(role string) bool {
	if p == nil {
		return false
	}
	for _, r := range p.Roles {
		if r == role {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal of the request, or nil when anonymous.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Problem is the body of every error response (RFC 9457).
type Problem struct {
	Type      string              `json:"type" jsonschema:"format=uri"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail"`
	Code      string              `json:"code"`
	Instance  string              `json:"instance,omitempty" jsonschema:"format=uri-reference"`
	RequestID string              `json:"request_id,omitempty"`
	Errors    []apperr.FieldError `json:"errors,omitempty"`
}

// ProblemTypeBase prefixes each problem's type: the code makes it a stable URI.
const ProblemTypeBase = "urn:streamflix:problem:"

// WriteError renders err as application/problem+json. Errors carrying an
// *apperr.Error are shown as they are; any other error is logged with the
// request id and shown only as "Internal error.".
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	err = normalize(err)
	e := apperr.From(err)
	if e == nil || e.Kind == apperr.Internal {
		l := zerolog.Ctx(r.Context())
		l.Error().Err(err).Str("request_id", logging.RequestID(r.Context())).Msg("internal error")
		e = apperr.ErrInternal
	}
	status := e.HTTPStatus()
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(e.RetryAfter))
	}
	p := Problem{
		Type:      ProblemTypeBase + e.Code,
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    e.Message,
		Code:      e.Code,
		Instance:  r.URL.EscapedPath(), // escaped: a path holding a NUL or bad UTF-8 is still a valid URI reference
		RequestID: logging.RequestID(r.Context()),
		Errors:    e.Fields,
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// JSON writes v as JSON with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Errors returned by Decode.
var (
	ErrBodyTooLarge    = apperr.New(apperr.TooLarge, "body_too_large", "The request body is too large.")
	ErrMalformedJSON   = apperr.BadRequest("malformed_json", "The request body is not valid JSON.")
	ErrUnsupportedType = &apperr.Error{Kind: apperr.Invalid, Code: "unsupported_media_type", Message: "Send the body as application/json.", Status: http.StatusUnsupportedMediaType}
)

// Decode reads a JSON object from r's body into dst. It rejects other
// content types (415), bodies over the route's limit (413), malformed JSON,
// trailing data and bytes that are not UTF-8 (400), and unknown fields,
// wrong types and strings holding NUL (422, naming the field).
func Decode(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return ErrUnsupportedType
		}
	}
	dec := json.NewDecoder(&utf8Reader{r: r.Body})
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return ErrBodyTooLarge
		case errors.Is(err, errNotUTF8):
			return ErrInvalidUTF8
		}
		return apperr.BadRequest("malformed_json", "The request body must hold a single JSON object.")
	}
	if field, ok := nulField(reflect.ValueOf(dst), ""); ok {
		return apperr.Validation(apperr.FieldError{Field: field, Code: "invalid_characters", Message: "Must not contain NUL characters."})
	}
	return nil
}

func decodeError(err error) error {
	var mbe *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return ErrBodyTooLarge
	case errors.Is(err, errNotUTF8):
		return ErrInvalidUTF8
	case errors.Is(err, io.EOF):
		return apperr.BadRequest("empty_body", "The request body is empty; send a JSON object.")
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrMalformedJSON
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return apperr.BadRequest("malformed_json", "The request body must be a JSON object.")
		}
		return apperr.Validation(apperr.FieldError{Field: field, Code: "wrong_type", Message: fmt.Sprintf("Must be a %s.", jsonKind(typ.Type.Kind().String()))})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Validation(apperr.FieldError{Field: field, Code: "unknown_field", Message: "This field is not accepted here."})
	default:
		return ErrMalformedJSON
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "list"
	case "map", "struct", "ptr":
		return "object"
	default:
		return "number"
	}
}
