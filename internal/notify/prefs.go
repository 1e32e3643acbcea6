package notify

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/pg"
)

// Channels a user can turn a kind on or off in.
const (
	ChannelEmail = "email"
	ChannelInApp = "in_app"
)

// Preference is a user's choice for one kind. Essential kinds are always
// on in both channels.
type Preference struct {
	Kind      Kind `json:"kind"`
	Email     bool `json:"email"`
	InApp     bool `json:"in_app"`
	Essential bool `json:"essential"`
	// HasInApp says whether the kind appears in the inbox at all.
	HasInApp bool `json:"has_in_app"`
}

// Preferences is GET and PUT /api/v1/notification-preferences's body.
type Preferences struct {
	Items []Preference `json:"items"`
}

// PreferenceChange is one item of a PUT: the channels to set for a kind;
// an absent channel keeps its value.
type PreferenceChange struct {
	Kind  Kind  `json:"kind"`
	Email *bool `json:"email,omitempty"`
	InApp *bool `json:"in_app,omitempty"`
}

// PreferencesUpdate is PUT /api/v1/notification-preferences's request.
type PreferencesUpdate struct {
	Items []PreferenceChange `json:"items"`
}

// Preferences returns userID's choice for every kind, sorted by kind.
func (s *Service) Preferences(ctx context.Context, userID string) (Preferences, error) {
	rows, err := findPreferences(ctx, s.db, userID)
	if err != nil {
		return Preferences{}, err
	}
	set := map[Kind]prefRow{}
	for _, r := range rows {
		set[Kind(r.Kind)] = r
	}
	out := Preferences{Items: []Preference{}}
	for _, k := range Kinds() {
		p := Preference{Kind: k, Email: true, InApp: k.InApp(), Essential: k.Essential(), HasInApp: k.InApp()}
		if r, ok := set[k]; ok && !p.Essential {
			p.Email, p.InApp = r.Email, r.InApp && k.InApp()
		}
		out.Items = append(out.Items, p)
	}
	return out, nil
}

// UpdatePreferences applies changes for userID and returns the result. It
// returns a validation error naming the field (items[i].kind, .email or
// .in_app) for an unknown kind or for turning an essential kind off; then
// nothing changes.
func (s *Service) UpdatePreferences(ctx context.Context, userID string, u PreferencesUpdate) (Preferences, error) {
	var fields []apperr.FieldError
	for i, c := range u.Items {
		at := fmt.Sprintf("items[%d].", i)
		if !c.Kind.Valid() {
			fields = append(fields, apperr.FieldError{Field: at + "kind", Code: "unknown", Message: "Not a notification kind."})
			continue
		}
		if c.Kind.Essential() {
			if c.Email != nil && !*c.Email {
				fields = append(fields, apperr.FieldError{Field: at + "email", Code: "essential", Message: "Account, security and billing notifications cannot be turned off."})
			}
			if c.InApp != nil && !*c.InApp {
				fields = append(fields, apperr.FieldError{Field: at + "in_app", Code: "essential", Message: "Account, security and billing notifications cannot be turned off."})
			}
		}
	}
	if len(fields) > 0 {
		return Preferences{}, apperr.Validation(fields...)
	}
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		for _, c := range u.Items {
			if c.Kind.Essential() {
				continue
			}
			if err := setPreference(ctx, tx, userID, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Preferences{}, err
	}
	return s.Preferences(ctx, userID)
}

// Unsubscribe tokens: base64url(kind ":" user id) "." base64url(HMAC-SHA256).

// ErrUnsubscribeToken is returned for an unsubscribe token that was not
// made by streamflix, was changed, or names an essential or unknown kind.
var ErrUnsubscribeToken = &apperr.Error{Kind: apperr.Invalid, Code: "unsubscribe_token_invalid", Message: "This unsubscribe link is not valid.",
	Fields: []apperr.FieldError{{Field: "token", Code: "invalid", Message: "This unsubscribe link is not valid."}}}

// unsubscribeKey returns the HMAC key: UNSUBSCRIBE_SECRET, else a random
// key generated once and kept in notify.secrets, which every instance
// shares.
func (s *Service) unsubscribeKey(ctx context.Context) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.unsubKey != nil {
		return s.unsubKey, nil
	}
	var fresh [32]byte
	_, _ = rand.Read(fresh[:])
	key, err := findOrCreateSecret(ctx, s.db, "unsubscribe", fresh[:])
	if err != nil {
		return nil, fmt.Errorf("notify: unsubscribe key: %w", err)
	}
	s.unsubKey = key
	return key, nil
}

func mac(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("streamflix-unsubscribe\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// UnsubscribeToken returns the signed token that turns kind k's email off
// for userID.
func (s *Service) UnsubscribeToken(ctx context.Context, userID string, k Kind) (string, error) {
	key, err := s.unsubscribeKey(ctx)
	if err != nil {
		return "", err
	}
	payload := string(k) + ":" + userID
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(mac(key, payload)), nil
}

// unsubscribeURL is the one-click link for kind k's email to userID.
func (s *Service) unsubscribeURL(ctx context.Context, userID string, k Kind) (string, error) {
	tok, err := s.UnsubscribeToken(ctx, userID, k)
	if err != nil {
		return "", err
	}
	return s.appURL + "/api/v1/unsubscribe?token=" + url.QueryEscape(tok), nil
}

// Unsubscription says what an unsubscribe token does.
type Unsubscription struct {
	Kind Kind `json:"kind"`
	// Channel is always "email".
	Channel string `json:"channel" jsonschema:"enum=email"`
	// Subscribed is whether the email is on now.
	Subscribed bool   `json:"subscribed"`
	Message    string `json:"message"`
	userID     string
}

// CheckUnsubscribe returns what token would turn off. It returns
// ErrUnsubscribeToken for a token that does not verify.
func (s *Service) CheckUnsubscribe(ctx context.Context, token string) (Unsubscription, error) {
	body, sig, ok := strings.Cut(token, ".")
	if !ok {
		return Unsubscription{}, ErrUnsubscribeToken
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(body)
	got, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil {
		return Unsubscription{}, ErrUnsubscribeToken
	}
	key, err := s.unsubscribeKey(ctx)
	if err != nil {
		return Unsubscription{}, err
	}
	if !hmac.Equal(got, mac(key, string(payload))) {
		return Unsubscription{}, ErrUnsubscribeToken
	}
	kind, userID, ok := strings.Cut(string(payload), ":")
	k := Kind(kind)
	if !ok || userID == "" || !k.Valid() || k.Essential() {
		return Unsubscription{}, ErrUnsubscribeToken
	}
	email, _, err := effectivePreference(ctx, s.db, userID, k)
	if err != nil {
		return Unsubscription{}, err
	}
	u := Unsubscription{Kind: k, Channel: ChannelEmail, Subscribed: email, userID: userID}
	u.Message = fmt.Sprintf("Confirm to stop %s emails. You can turn them back on in your notification settings.", strings.ReplaceAll(kind, "_", " "))
	if !email {
		u.Message = fmt.Sprintf("You no longer get %s emails.", strings.ReplaceAll(kind, "_", " "))
	}
	return u, nil
}

// Unsubscribe turns off the email that token names. Doing it twice is
// fine. It returns ErrUnsubscribeToken for a token that does not verify;
// then nothing changes.
func (s *Service) Unsubscribe(ctx context.Context, token string) (Unsubscription, error) {
	u, err := s.CheckUnsubscribe(ctx, token)
	if err != nil {
		return u, err
	}
	off := false
	if err := setPreference(ctx, s.db, u.userID, PreferenceChange{Kind: u.Kind, Email: &off}); err != nil {
		return Unsubscription{}, err
	}
	u.Subscribed = false
	u.Message = fmt.Sprintf("You no longer get %s emails.", strings.ReplaceAll(string(u.Kind), "_", " "))
	return u, nil
}
