package password

import (
	"strings"
	"unicode/utf8"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// Length limits, in Unicode code points (runes), as NIST SP 800-63B asks: at
// least 8, and no cap below 64.
const (
	MinLength = 8
	MaxLength = 128
)

// Field error codes that Check returns.
const (
	CodeTooShort      = "too_short"
	CodeTooLong       = "too_long"
	CodeRepetitive    = "repetitive"
	CodeCommon        = "common"
	CodeContainsEmail = "contains_email"
)

// Check applies NIST SP 800-63B's rules to a new password and returns nil or
// an apperr.Validation error with one apperr.FieldError for field, whose
// Code is, in the order checked:
//   - "too_short": fewer than MinLength (8) runes;
//   - "too_long": more than MaxLength (128) runes;
//   - "repetitive": one character repeated ("aaaaaaaa") or a run of
//     consecutive characters ("12345678", "hgfedcba") makes up the whole
//     password, ignoring case;
//   - "common": the password, trimmed and lowercased, is in the embedded
//     list of 47,023 common and breached passwords, or is "streamflix" or
//     "netflix" with at most digits and symbols around it;
//   - "contains_email": the password contains, ignoring case, the local part
//     of email (before the '@', and also before any '+' tag) when that is 4
//     runes or longer.
//
// There are no composition rules: any character counts, spaces included.
// Check does not normalise Unicode; runes are counted as given.
func Check(field, password, email string) error {
	fail := func(code, msg string) error {
		return apperr.Validation(apperr.FieldError{Field: field, Code: code, Message: msg})
	}
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinLength:
		return fail(CodeTooShort, "Use at least 8 characters.")
	case n > MaxLength:
		return fail(CodeTooLong, "Use at most 128 characters.")
	case isRepetitive(password):
		return fail(CodeRepetitive, "Avoid a password that is one repeated character or a sequence like 12345678.")
	case isCommon(password):
		return fail(CodeCommon, "This password is too common. Choose another.")
	case containsEmail(password, email):
		return fail(CodeContainsEmail, "Don't use your email address in your password.")
	}
	return nil
}

// isRepetitive reports whether s, lowercased, is a single rune repeated or
// runs up or down by one code point from its first rune to its last.
func isRepetitive(s string) bool {
	r := []rune(strings.ToLower(s))
	if len(r) < 2 {
		return false
	}
	same, up, down := true, true, true
	for i := 1; i < len(r); i++ {
		d := r[i] - r[i-1]
		same = same && d == 0
		up = up && d == 1
		down = down && d == -1
	}
	return same || up || down
}

// containsEmail reports whether password contains email's local part, or
// that part without a "+tag", when it is at least 4 runes long.
func containsEmail(password, email string) bool {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	local := strings.ToLower(email[:at])
	pw := strings.ToLower(password)
	candidates := []string{local}
	if base, _, ok := strings.Cut(local, "+"); ok {
		candidates = append(candidates, base)
	}
	for _, c := range candidates {
		if utf8.RuneCountInString(c) >= 4 && strings.Contains(pw, c) {
			return true
		}
	}
	return false
}
