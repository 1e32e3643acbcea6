package api

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// Text that cannot be stored: Postgres refuses invalid UTF-8 and NUL in
// text, so such input is turned away at the edge, as the client's fault,
// before it can reach a query and come back as an internal error.

// Errors about the bytes of a request.
var (
	// ErrInvalidUTF8 answers a body that is not valid UTF-8 (400).
	ErrInvalidUTF8 = apperr.BadRequest("invalid_utf8", "The request body is not valid UTF-8.")
)

// ValidText reports whether s can be stored as text: valid UTF-8 without NUL.
func ValidText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// LineProblem returns the field error for a single-line text field (a
// name, a title, a device name) holding what it must not: control
// characters (C0, DEL, C1: tabs and line breaks included), line and
// paragraph separators, or the bidirectional embeddings, overrides and
// isolates (U+202A to U+202E, U+2066 to U+2069) that make text display
// other than it reads. It returns nil when s is fine. Modules call it from
// their validation for every name-like field.
func LineProblem(field, s string) *apperr.FieldError {
	if !utf8.ValidString(s) {
		return &apperr.FieldError{Field: field, Code: "invalid_characters", Message: "Must be valid UTF-8 text."}
	}
	for _, c := range s {
		if unicode.IsControl(c) || c == '\u2028' || c == '\u2029' || ('\u202a' <= c && c <= '\u202e') || ('\u2066' <= c && c <= '\u2069') {
			return &apperr.FieldError{Field: field, Code: "invalid_characters", Message: "Must be one line of text without control or text-direction characters."}
		}
	}
	return nil
}

// Query returns the query parameter name of r, as r.URL.Query().Get does.
// Routes served by a Router have had every parameter checked (valid UTF-8,
// no NUL) before the handler runs.
func Query(r *http.Request, name string) string { return r.URL.Query().Get(name) }

// checkText answers 422 validation_failed, with an invalid_text error
// naming the parameter, when a path or query parameter
// of the request is not valid UTF-8 or holds a NUL: the one check every
// route served by a Router passes, so no handler hands such bytes to
// Postgres.
func checkText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if field, ok := badParam(r); ok {
			WriteError(w, r, paramError(field))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func paramError(field string) *apperr.Error {
	return apperr.Validation(apperr.FieldError{Field: field, Code: "invalid_text", Message: "Must be valid UTF-8 text without NUL characters."})
}

// badParam returns the name of the first parameter that is not valid text.
func badParam(r *http.Request) (string, bool) {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		for i, k := range rc.URLParams.Keys {
			if i < len(rc.URLParams.Values) && !ValidText(rc.URLParams.Values[i]) {
				if k == "*" {
					k = "path"
				}
				return k, true
			}
		}
	}
	if !ValidText(r.URL.Path) {
		return "path", true
	}
	if r.URL.RawQuery == "" {
		return "", false
	}
	q, _ := url.ParseQuery(r.URL.RawQuery)
	for k, vs := range q {
		if !ValidText(k) {
			return "query", true
		}
		for _, v := range vs {
			if !ValidText(v) {
				return k, true
			}
		}
	}
	return "", false
}

var errNotUTF8 = errors.New("body is not valid UTF-8")

// utf8Reader passes a body through, failing with errNotUTF8 as soon as the
// bytes read are not valid UTF-8 (a sequence split across reads is held
// back until it completes).
type utf8Reader struct {
	r     io.Reader
	carry []byte
}

func (u *utf8Reader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if n > 0 {
		b := p[:n]
		if len(u.carry) > 0 {
			b = append(u.carry, b...)
		}
		// Hold back a trailing sequence that may go on in the next read.
		cut := len(b)
		for i := len(b) - 1; i >= 0 && i > len(b)-utf8.UTFMax; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					cut = i
				}
				break
			}
		}
		if !utf8.Valid(b[:cut]) {
			return 0, errNotUTF8
		}
		u.carry = append(u.carry[:0], b[cut:]...)
	}
	if err == io.EOF && len(u.carry) > 0 {
		return n, errNotUTF8
	}
	return n, err
}

// nulField returns the JSON path of the first string in v holding a NUL
// ("device.name", "items[2].kind"), or "" when there is none.
func nulField(v reflect.Value, path string) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return nulField(v.Elem(), path)
	case reflect.String:
		if strings.IndexByte(v.String(), 0) >= 0 {
			return path, true
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			p := path
			if !(f.Anonymous && name == "") {
				if name == "" {
					name = f.Name
				}
				p = joinPath(path, name)
			}
			if got, ok := nulField(v.Field(i), p); ok {
				return got, true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "", false // bytes (json.RawMessage): not text
		}
		for i := 0; i < v.Len(); i++ {
			if got, ok := nulField(v.Index(i), path+"["+strconv.Itoa(i)+"]"); ok {
				return got, true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := it.Key()
			if k.Kind() == reflect.String && strings.IndexByte(k.String(), 0) >= 0 {
				return path, true
			}
			name := path
			if k.Kind() == reflect.String {
				name = joinPath(path, k.String())
			}
			if got, ok := nulField(it.Value(), name); ok {
				return got, true
			}
		}
	}
	return "", false
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
