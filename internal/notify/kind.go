package notify

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/invopop/jsonschema"
)

// Kind names a notification: what happened, and so which templates render
// it and which data fields it needs. A Kind's templates are
// templates/<locale>/<kind>.subject, .txt and .html.
type Kind string

// The kinds wired now; payments and new content add theirs in their issues.
const (
	// EmailVerification asks a new user to confirm their address.
	// Data: link (absolute URL). Sent to the user's address.
	EmailVerification Kind = "email_verification"
	// EmailChange asks a user to confirm a new address. Data: link. Sent to
	// the new address, which the request carries in To.
	EmailChange Kind = "email_change"
	// PasswordReset carries a password-reset link. Data: link, expires_in
	// (human text, such as "1 hour").
	PasswordReset Kind = "password_reset"
	// NewSignIn tells a user about a sign-in from an unknown device. Data:
	// device, ip, time (text formatted by the caller).
	NewSignIn Kind = "new_sign_in"
	// PasswordChanged tells a user their password was changed. No data.
	PasswordChanged Kind = "password_changed"
	// AccountDeleted confirms an account's deletion. The account is gone by
	// the time it is sent, so the request carries the address in To (and
	// the locale in Locale).
	AccountDeleted Kind = "account_deleted"
	// NewContent tells a user that something they may want to watch is
	// out, such as a new season. Data: title, link. Not essential: users
	// may turn it off, and its email carries a one-click unsubscribe link.
	NewContent Kind = "new_content"
)

// kindSpec is what a kind declares besides its template files.
type kindSpec struct {
	// Required data fields: EnqueueTx refuses a request without any of
	// them, and start-up checks that both bodies use each one.
	Required []string
	// Optional data fields the templates may use.
	Optional []string
	// Essential mail (security, billing) cannot be turned off by a user's
	// preferences.
	Essential bool
	// InApp kinds also land in the user's in-app inbox (unless the user
	// turned that off). Kinds whose data is a secret (sign-in links) are
	// never in-app: the inbox is not a place for credentials.
	InApp bool
}

// kinds is every notification notify can send. Adding one is a line here
// and its three template files under templates/en/.
var kinds = map[Kind]kindSpec{
	EmailVerification: {Required: []string{"link"}, Essential: true},
	EmailChange:       {Required: []string{"link"}, Essential: true},
	PasswordReset:     {Required: []string{"link", "expires_in"}, Essential: true},
	NewSignIn:         {Required: []string{"device", "ip", "time"}, Essential: true, InApp: true},
	PasswordChanged:   {Essential: true, InApp: true},
	AccountDeleted:    {Essential: true},
	NewContent:        {Required: []string{"title", "link"}, InApp: true},
}

// fieldName is the shape of a data field: lower snake case, so that fields
// never collide with the capitalised names the templates also get (Name,
// Email, AppURL, Subject).
var fieldName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Kinds returns every known kind, sorted.
func Kinds() []Kind {
	out := make([]Kind, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	_, ok := kinds[k]
	return ok
}

// Essential reports whether k is security or billing mail, which a user
// cannot turn off. Unknown kinds are not essential.
func (k Kind) Essential() bool { return kinds[k].Essential }

// InApp reports whether k also goes to the in-app inbox.
func (k Kind) InApp() bool { return kinds[k].InApp }

// checkKinds validates the kinds table itself; a mistake in it is a
// programming error caught at start-up.
func checkKinds(specs map[Kind]kindSpec) error {
	for k, spec := range specs {
		if !fieldName.MatchString(string(k)) {
			return fmt.Errorf("notify: kind %q: name must match %s", k, fieldName)
		}
		seen := map[string]bool{}
		for _, f := range append(append([]string(nil), spec.Required...), spec.Optional...) {
			if !fieldName.MatchString(f) {
				return fmt.Errorf("notify: kind %q: data field %q must match %s", k, f, fieldName)
			}
			if seen[f] {
				return fmt.Errorf("notify: kind %q: data field %q declared twice", k, f)
			}
			seen[f] = true
		}
	}
	return nil
}

// isLinkField reports whether a data field holds a URL, which must then be
// absolute http or https.
func isLinkField(name string) bool {
	return name == "link" || len(name) > 5 && name[len(name)-5:] == "_link"
}

// JSONSchema describes a Kind in the OpenAPI document as a string with
// every known kind as its enum, so the document lists kinds other
// modules register (billing's) without a hand-kept copy.
func (Kind) JSONSchema() *jsonschema.Schema {
	s := &jsonschema.Schema{Type: "string"}
	for _, k := range Kinds() {
		s.Enum = append(s.Enum, string(k))
	}
	return s
}
