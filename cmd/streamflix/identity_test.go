package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/auth/token"
	"github.com/streamflix/streamflix/internal/platform/pgtest"
	"github.com/streamflix/streamflix/internal/platform/redistest"
)

// identity is a test bundle: one or two instances on one database, with
// emails written to a directory the test reads.
type identity struct {
	t       *testing.T
	db      *sqlx.DB
	dbURL   string
	mailDir string
	// mediaDir is MEDIA_DIR, shared by both instances as a real deployment
	// shares it.
	mediaDir string
	a, b     *instance
}

func setupIdentity(t *testing.T, two bool) *identity {
	t.Helper()
	return setupIdentityWith(t, two, nil)
}

// setupIdentityWith is setupIdentity with more settings.
func setupIdentityWith(t *testing.T, two bool, more map[string]string) *identity {
	t.Helper()
	db, dbURL := pgtest.NewDBURL(t)
	id := &identity{t: t, db: db, dbURL: dbURL, mailDir: t.TempDir(), mediaDir: t.TempDir()}
	extra := map[string]string{"MAIL_DIR": id.mailDir, "RATE_LIMIT_IP": "0", "RATE_LIMIT_USER": "0", "PUBLIC_URL": "https://streamflix.test",
		"MEDIA_DIR": id.mediaDir}
	for k, v := range more {
		extra[k] = v
	}
	if two {
		client, prefix := redistest.New(t)
		extra["REDIS_URL"] = fmt.Sprintf("redis://%s/%d", client.Options().Addr, client.Options().DB)
		extra["REDIS_PREFIX"] = prefix
	}
	id.a = start(t, env(dbURL, extra), nil)
	if two {
		id.b = start(t, env(dbURL, extra), nil)
	}
	return id
}

var tokenInMail = regexp.MustCompile(`token=(?:3D)?([A-Za-z0-9_-]{43})`)

// mailTo waits for an email to addr whose subject contains subject and
// returns the token in its link ("" if it has none) and its text.
func (id *identity) mailTo(addr, subject string) (string, string) {
	id.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(id.mailDir, "*.eml"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			text := strings.ReplaceAll(strings.ReplaceAll(string(b), "=\r\n", ""), "=\n", "")
			if !toLine(text, addr) {
				continue
			}
			if !strings.Contains(text, subject) {
				continue
			}
			tok := ""
			if m := tokenInMail.FindStringSubmatch(text); m != nil {
				tok = m[1]
			}
			_ = os.Remove(f)
			return tok, text
		}
		time.Sleep(50 * time.Millisecond)
	}
	var jobs []struct {
		Kind   string `db:"kind"`
		State  string `db:"state"`
		Errors string `db:"errors"`
	}
	_ = id.db.Select(&jobs, `SELECT kind, state::text AS state, coalesce(errors::text, '') AS errors FROM river.river_job`)
	files, _ := filepath.Glob(filepath.Join(id.mailDir, "*"))
	var first []byte
	if len(files) > 0 {
		first, _ = os.ReadFile(files[0])
	}
	id.t.Fatalf("no email to %s with subject containing %q; mail dir holds %v; jobs %+v; first:\n%.1500s", addr, subject, files, jobs, first)
	return "", ""
}

// toLine reports whether the message's To header names addr.
func toLine(msg, addr string) bool {
	for _, line := range strings.Split(msg, "\n") {
		l := strings.ToLower(strings.TrimSpace(line))
		if strings.HasPrefix(l, "to:") && (strings.Contains(l, "<"+strings.ToLower(addr)+">") || strings.TrimSpace(l[3:]) == strings.ToLower(addr)) {
			return true
		}
		if line == "" || line == "\r" {
			return false // end of the header
		}
	}
	return false
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
	Session      struct {
		ID string `json:"id"`
	} `json:"session"`
}

const goodPassword = "plum-kettle-orbit-92"

func (id *identity) signUp(email string) {
	id.t.Helper()
	newClient(id.t, id.a.URL()).do("POST", "/api/v1/accounts", map[string]any{"email": email, "password": goodPassword, "name": "Ada"}).
		want("sign up "+email, http.StatusCreated, "")
}

// setupSignedUp is setupIdentity with one instance, a client of it and an
// account of email with goodPassword.
func setupSignedUp(t *testing.T, email string) (*identity, apiClient) {
	t.Helper()
	id := setupIdentity(t, false)
	api := newClient(t, id.a.URL())
	id.signUp(email)
	return id, api
}

// login signs in through api's instance.
func (id *identity) login(api apiClient, email, pw, device string) tokens {
	id.t.Helper()
	var t tokens
	resp := api.do("POST", "/api/v1/auth/login", map[string]any{"email": email, "password": pw, "device": map[string]string{"name": device, "kind": "web"}}).
		want("login "+email, http.StatusOK, "").decode(&t)
	if t.AccessToken == "" || t.RefreshToken == "" || t.Session.ID == "" {
		id.t.Fatalf("login answer missing tokens: %s", resp.body)
	}
	return t
}

func TestSignUpVerifyLogin(t *testing.T) {
	t.Parallel()
	id, api := setupSignedUp(t, "Ada@Example.com")

	// The same address in another case is taken.
	api.do("POST", "/api/v1/accounts", map[string]any{"email": "ada@example.COM", "password": goodPassword}).
		want("duplicate", http.StatusConflict, "email_taken")

	tok, _ := id.mailTo("Ada@Example.com", "erify")
	if tok == "" {
		t.Fatal("verification email holds no link token")
	}
	lt := id.login(api, "ada@example.com", goodPassword, "Laptop")
	var acc struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}
	api.as(lt.AccessToken).do("GET", "/api/v1/account", nil).decode(&acc)
	if acc.Email != "Ada@Example.com" || acc.EmailVerified {
		t.Fatalf("account before verification: %+v", acc)
	}
	api.do("POST", "/api/v1/account/verify-email", map[string]any{"token": tok}).want("verify", http.StatusOK, "").decode(&acc)
	if !acc.EmailVerified {
		t.Fatal("not verified after using the link")
	}
	api.do("POST", "/api/v1/account/verify-email", map[string]any{"token": tok}).want("verify twice", http.StatusUnprocessableEntity, "token_invalid")

	// One profile came with the account.
	var ps struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	api.as(lt.AccessToken).do("GET", "/api/v1/profiles", nil).decode(&ps)
	if len(ps.Items) != 1 || ps.Items[0].Name != "Ada" {
		t.Fatalf("profiles after sign-up: %+v", ps)
	}
}

func TestSignUpBadInput(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	api := newClient(t, id.a.URL())
	cases := []struct {
		name   string
		body   string
		status int
		code   string
		field  string
	}{
		{"MalformedJSON", `{"email": "a@b.co", "password": `, 400, "malformed_json", ""},
		{"Empty", ``, 400, "empty_body", ""},
		{"UnknownField", `{"email":"x@example.com","password":"plum-kettle-orbit-92","admin":true}`, 422, "validation_failed", "admin"},
		{"MissingEmail", `{"password":"plum-kettle-orbit-92"}`, 422, "validation_failed", "email"},
		{"InvalidEmail", `{"email":"not-an-email","password":"plum-kettle-orbit-92"}`, 422, "validation_failed", "email"},
		{"LongEmail", `{"email":"` + strings.Repeat("a", 250) + `@example.com","password":"plum-kettle-orbit-92"}`, 422, "validation_failed", "email"},
		{"ShortPassword", `{"email":"x@example.com","password":"short"}`, 422, "validation_failed", "password"},
		{"CommonPassword", `{"email":"x@example.com","password":"password1"}`, 422, "validation_failed", "password"},
		{"LongPassword", `{"email":"x@example.com","password":"` + strings.Repeat("ab1", 50) + `"}`, 422, "validation_failed", "password"},
		{"LongName", `{"email":"x@example.com","password":"plum-kettle-orbit-92","name":"` + strings.Repeat("n", 41) + `"}`, 422, "validation_failed", "name"},
		{"WrongType", `{"email":42,"password":"plum-kettle-orbit-92"}`, 422, "validation_failed", "email"},
	}
	for _, c := range cases {
		body := api.do("POST", "/api/v1/accounts", raw("application/json", []byte(c.body))).want(c.name, c.status, c.code).json()
		if c.field != "" {
			errs, _ := body["errors"].([]any)
			if len(errs) == 0 || errs[0].(map[string]any)["field"] != c.field {
				t.Errorf("%s: errors %v, want field %s", c.name, body["errors"], c.field)
			}
		}
	}
	// None of them created an account.
	var n int
	if err := id.db.Get(&n, `SELECT count(*) FROM users.accounts`); err != nil || n != 0 {
		t.Fatalf("accounts after bad sign-ups: %d (%v)", n, err)
	}
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	_, api := setupSignedUp(t, "bob@example.com")
	wrong := api.do("POST", "/api/v1/auth/login", map[string]any{"email": "bob@example.com", "password": "wrong-password-1", "device": map[string]string{"name": "x", "kind": "web"}}).
		want("wrong password", http.StatusUnauthorized, "invalid_credentials")
	unknown := api.do("POST", "/api/v1/auth/login", map[string]any{"email": "nobody@example.com", "password": "wrong-password-1", "device": map[string]string{"name": "x", "kind": "web"}}).
		want("unknown account", http.StatusUnauthorized, "invalid_credentials")
	if wrong.json()["detail"] != unknown.json()["detail"] {
		t.Errorf("answers differ between a wrong password and an unknown account: %s vs %s", wrong.body, unknown.body)
	}
	api.do("POST", "/api/v1/auth/login", map[string]any{"email": "bob@example.com", "password": goodPassword, "device": map[string]string{"name": "x", "kind": "fridge"}}).
		want("bad device kind", http.StatusUnprocessableEntity, "validation_failed")
}

func TestBruteForceLockout(t *testing.T) {
	t.Parallel()
	id, api := setupSignedUp(t, "carol@example.com")
	attempt := func(pw string) *apiResponse {
		t.Helper()
		return api.do("POST", "/api/v1/auth/login", map[string]any{"email": "carol@example.com", "password": pw, "device": map[string]string{"name": "x", "kind": "web"}})
	}
	for i := 0; i < 5; i++ {
		attempt("wrong-password-1").want(fmt.Sprintf("failure %d", i+1), http.StatusUnauthorized, "invalid_credentials")
	}
	// Blocked now, even with the right password, with Retry-After.
	if attempt(goodPassword).want("after five failures", http.StatusTooManyRequests, "login_locked").Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	var events int
	if err := id.db.Get(&events, `SELECT count(*) FROM auth.security_events WHERE kind = 'login_locked'`); err != nil || events == 0 {
		t.Fatalf("no login_locked security event (err %v)", err)
	}
}

// TestTokenAbuse: tampered, foreign-key, alg none, expired and HS256
// tokens are all refused, and change nothing.
func TestTokenAbuse(t *testing.T) {
	t.Parallel()
	id, api := setupSignedUp(t, "dan@example.com")
	lt := id.login(api, "dan@example.com", goodPassword, "Phone")
	parts := strings.Split(lt.AccessToken, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not a JWT: %q", lt.AccessToken)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := strings.Replace(string(payload), `"roles":["viewer"]`, `"roles":["viewer","admin"]`, 1)
	if tampered == string(payload) {
		t.Fatalf("payload has no viewer role to tamper with: %s", payload)
	}
	tamperedTok := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(tampered)) + "." + parts[2]
	noneTok := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."

	otherDB := pgtest.NewDB(t)
	other, err := token.New(context.Background(), token.Config{DB: otherDB})
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, err := other.Issue(token.Claims{UserID: "00000000-0000-0000-0000-000000000001", SessionID: lt.Session.ID, Roles: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	past, err := token.New(context.Background(), token.Config{DB: id.db, Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	expired, _, err := past.Issue(token.Claims{UserID: "u", SessionID: lt.Session.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, tok, code string }{
		{"Tampered", tamperedTok, "invalid_token"},
		{"AlgNone", noneTok, "invalid_token"},
		{"OtherKey", foreign, "invalid_token"},
		{"Expired", expired, "token_expired"},
		{"Garbage", "abc.def.ghi", "invalid_token"},
	} {
		api.as(c.tok).do("GET", "/api/v1/account", nil).want(c.name, http.StatusUnauthorized, c.code)
	}
	// The real token still works.
	api.as(lt.AccessToken).do("GET", "/api/v1/account", nil).want("real token", http.StatusOK, "")
	// JWKS publishes the verifying key.
	var jwks struct {
		Keys []struct {
			Kid, Kty, Alg string
		} `json:"keys"`
	}
	api.do("GET", "/api/v1/auth/jwks.json", nil).decode(&jwks)
	if len(jwks.Keys) == 0 || jwks.Keys[0].Kty != "RSA" || jwks.Keys[0].Alg != "RS256" {
		t.Fatalf("jwks: %+v", jwks)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	id, api := setupSignedUp(t, "erin@example.com")
	first := id.login(api, "erin@example.com", goodPassword, "TV")
	var second tokens
	api.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": first.RefreshToken}).want("refresh", http.StatusOK, "").decode(&second)
	if second.RefreshToken == first.RefreshToken || second.Session.ID != first.Session.ID {
		t.Fatalf("refresh did not rotate within the session: %+v", second)
	}
	// The old one again: the session is revoked, the new one dies with it.
	api.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": first.RefreshToken}).
		want("reuse", http.StatusUnauthorized, "refresh_token_reused")
	api.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": second.RefreshToken}).
		want("after reuse", http.StatusUnauthorized, "session_revoked")
	api.as(second.AccessToken).do("GET", "/api/v1/account", nil).want("access after reuse", http.StatusUnauthorized, "session_revoked")
	api.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": "made-up"}).
		want("unknown refresh", http.StatusUnauthorized, "invalid_refresh_token")
	var events int
	if err := id.db.Get(&events, `SELECT count(*) FROM auth.security_events WHERE kind = 'refresh_token_reused'`); err != nil || events != 1 {
		t.Fatalf("security events for reuse = %d (%v), want 1", events, err)
	}
}

// TestRevocationAcrossInstances signs a device out on one instance and sees
// its token refused at once on the other (sharing Redis).
func TestRevocationAcrossInstances(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, true)
	id.signUp("fay@example.com")
	apiA, apiB := newClient(t, id.a.URL()), newClient(t, id.b.URL())
	laptop := id.login(apiA, "fay@example.com", goodPassword, "Laptop")
	phone := id.login(apiB, "fay@example.com", goodPassword, "Phone")
	// Both instances accept both tokens (and warm their session cache).
	for _, in := range []apiClient{apiA, apiB} {
		for _, tk := range []tokens{laptop, phone} {
			in.as(tk.AccessToken).do("GET", "/api/v1/account", nil).want("before revocation", http.StatusOK, "")
		}
	}
	var list struct {
		Items []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"items"`
	}
	apiA.as(laptop.AccessToken).do("GET", "/api/v1/auth/sessions", nil).decode(&list)
	if len(list.Items) != 2 {
		t.Fatalf("sessions: %+v", list)
	}
	apiA.as(laptop.AccessToken).do("DELETE", "/api/v1/auth/sessions/"+phone.Session.ID, nil).want("sign out phone", http.StatusNoContent, "")
	apiB.as(phone.AccessToken).do("GET", "/api/v1/account", nil).want("phone on the other instance", http.StatusUnauthorized, "session_revoked")
	apiB.as(laptop.AccessToken).do("GET", "/api/v1/account", nil).want("laptop still signed in", http.StatusOK, "")

	// Everywhere: this session too.
	apiB.as(laptop.AccessToken).do("DELETE", "/api/v1/auth/sessions", nil).want("sign out everywhere", http.StatusNoContent, "")
	apiA.as(laptop.AccessToken).do("GET", "/api/v1/account", nil).want("laptop after everywhere", http.StatusUnauthorized, "session_revoked")
}

func TestProfilesAndPIN(t *testing.T) {
	t.Parallel()
	id, api := setupSignedUp(t, "gus@example.com")
	lt := id.login(api, "gus@example.com", goodPassword, "TV")
	account := api.as(lt.AccessToken)

	var kid struct {
		ID            string `json:"id"`
		Kids          bool   `json:"kids"`
		MaturityLevel int    `json:"maturity_level"`
	}
	account.do("POST", "/api/v1/profiles", map[string]any{"name": "Kid", "kids": true}).
		want("create kids profile", http.StatusCreated, "").decode(&kid)
	if !kid.Kids || kid.MaturityLevel != 20 {
		t.Fatalf("kids profile: %+v", kid)
	}
	account.do("POST", "/api/v1/profiles", map[string]any{"name": "Teen", "kids": true, "maturity_level": 50}).
		want("kids profile asking for mature content", http.StatusUnprocessableEntity, "validation_failed")
	account.do("POST", "/api/v1/profiles", map[string]any{"name": "Kid"}).want("duplicate name", http.StatusConflict, "profile_name_taken")

	var parent struct {
		ID     string `json:"id"`
		HasPIN bool   `json:"has_pin"`
	}
	account.do("POST", "/api/v1/profiles", map[string]any{"name": "Parent", "pin": "4321"}).
		want("create PIN profile", http.StatusCreated, "").decode(&parent)
	if !parent.HasPIN {
		t.Fatal("has_pin false")
	}
	// Up to five profiles.
	for _, n := range []string{"C", "D"} {
		account.do("POST", "/api/v1/profiles", map[string]any{"name": n}).want("create "+n, http.StatusCreated, "")
	}
	account.do("POST", "/api/v1/profiles", map[string]any{"name": "Sixth"}).want("sixth profile", http.StatusConflict, "profile_limit_reached")

	// Selecting the kids profile gives tokens scoped to it.
	var kt tokens
	account.do("POST", "/api/v1/auth/profile", map[string]any{"profile_id": kid.ID}).want("select kids profile", http.StatusOK, "").decode(&kt)
	if claims := decodeClaims(t, kt.AccessToken); claims["pid"] != kid.ID || claims["kids"] != true {
		t.Fatalf("kids token claims: %v", claims)
	}
	api.as(kt.AccessToken).do("POST", "/api/v1/profiles", map[string]any{"name": "Sneaky"}).
		want("kids profile managing profiles", http.StatusForbidden, "kids_profile")
	api.as(kt.AccessToken).do("PATCH", "/api/v1/profiles/"+kid.ID, map[string]any{"maturity_level": 50}).
		want("kids profile raising its own maturity", http.StatusForbidden, "kids_profile")

	// The PIN guards the parent profile, with throttling.
	account.do("POST", "/api/v1/auth/profile", map[string]any{"profile_id": parent.ID}).want("no PIN", http.StatusForbidden, "pin_required")
	for i := 0; i < 5; i++ {
		account.do("POST", "/api/v1/auth/profile", map[string]any{"profile_id": parent.ID, "pin": "0000"}).
			want("wrong PIN", http.StatusForbidden, "wrong_pin")
	}
	account.do("POST", "/api/v1/auth/profile", map[string]any{"profile_id": parent.ID, "pin": "4321"}).
		want("after five wrong PINs", http.StatusTooManyRequests, "pin_locked")

	// Removing the PIN needs the current one.
	account.do("PATCH", "/api/v1/profiles/"+parent.ID, map[string]any{"pin": ""}).want("remove PIN without it", http.StatusForbidden, "pin_required")
}

// TestCrossAccountAccess: one user's token on another's profile or
// session is a 404, never the data.
func TestCrossAccountAccess(t *testing.T) {
	t.Parallel()
	id, api := setupSignedUp(t, "hal@example.com")
	id.signUp("ivy@example.com")
	hal := id.login(api, "hal@example.com", goodPassword, "Laptop")
	ivy := id.login(api, "ivy@example.com", goodPassword, "Laptop")
	var ivyProfiles struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	api.as(ivy.AccessToken).do("GET", "/api/v1/profiles", nil).decode(&ivyProfiles)
	ivyProfile := ivyProfiles.Items[0].ID
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/profiles/" + ivyProfile},
		{"PATCH", "/api/v1/profiles/" + ivyProfile},
		{"DELETE", "/api/v1/profiles/" + ivyProfile},
		{"DELETE", "/api/v1/auth/sessions/" + ivy.Session.ID},
		{"GET", "/api/v1/profiles/not-a-uuid"},
	} {
		var body any
		if c.method == "PATCH" {
			body = map[string]any{"name": "Pwned"}
		}
		if resp := api.as(hal.AccessToken).do(c.method, c.path, body); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s with another user's token: %d %s, want 404", c.method, c.path, resp.StatusCode, resp.body)
		}
	}
	api.as(hal.AccessToken).do("POST", "/api/v1/auth/profile", map[string]any{"profile_id": ivyProfile}).
		want("select another's profile", http.StatusNotFound, "profile_not_found")
	// Ivy's session and profile are untouched.
	if resp := api.as(ivy.AccessToken).do("GET", "/api/v1/profiles/"+ivyProfile, nil).want("ivy's profile", http.StatusOK, ""); resp.json()["name"] != "Ada" {
		t.Fatalf("ivy's profile changed: %s", resp.body)
	}
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	id, api := setupSignedUp(t, "jo@example.com")
	old := id.login(api, "jo@example.com", goodPassword, "Laptop")

	unknown := api.do("POST", "/api/v1/auth/password-reset", map[string]string{"email": "nobody@example.com"}).
		want("reset unknown", http.StatusAccepted, "")
	known := api.do("POST", "/api/v1/auth/password-reset", map[string]string{"email": "jo@example.com"}).want("reset known", http.StatusAccepted, "")
	if fmt.Sprint(unknown.json()) != fmt.Sprint(known.json()) {
		t.Fatalf("answers differ: %s vs %s", unknown.body, known.body)
	}
	tok, _ := id.mailTo("jo@example.com", "eset")
	if tok == "" {
		t.Fatal("reset email holds no token")
	}
	api.do("POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": tok, "new_password": "short"}).
		want("weak new password", http.StatusUnprocessableEntity, "validation_failed")
	const next = "violet-harbor-lantern-7"
	api.do("POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": tok, "new_password": next}).
		want("confirm", http.StatusNoContent, "")
	api.as(old.AccessToken).do("GET", "/api/v1/account", nil).want("old session after reset", http.StatusUnauthorized, "session_revoked")
	api.do("POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": tok, "new_password": "another-fine-pass-8"}).
		want("token reused", http.StatusUnprocessableEntity, "reset_token_invalid")
	id.login(api, "jo@example.com", next, "Laptop")

	// An expired token is refused.
	api.do("POST", "/api/v1/auth/password-reset", map[string]string{"email": "jo@example.com"})
	tok2, _ := id.mailTo("jo@example.com", "eset")
	if _, err := id.db.Exec(`UPDATE auth.reset_tokens SET expires_at = now() - interval '1 minute' WHERE used_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	api.do("POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": tok2, "new_password": "another-fine-pass-8"}).
		want("expired token", http.StatusUnprocessableEntity, "reset_token_invalid")
}

func TestChangePasswordAndDeleteAccount(t *testing.T) {
	t.Parallel()
	id, api := setupSignedUp(t, "kim@example.com")
	here := id.login(api, "kim@example.com", goodPassword, "Laptop")
	there := id.login(api, "kim@example.com", goodPassword, "Phone")
	// A sign-in from a device not seen before is reported by email.
	if _, text := id.mailTo("kim@example.com", "New sign-in"); !strings.Contains(text, "Phone") {
		t.Fatalf("new sign-in email does not name the device:\n%s", text)
	}

	api.as(here.AccessToken).do("POST", "/api/v1/account/password", map[string]string{"current_password": "nope-nope-nope", "new_password": "violet-harbor-lantern-7"}).
		want("wrong current password", http.StatusForbidden, "wrong_password")
	api.as(here.AccessToken).do("POST", "/api/v1/account/password", map[string]string{"current_password": goodPassword, "new_password": "violet-harbor-lantern-7"}).
		want("change password", http.StatusNoContent, "")
	api.as(there.AccessToken).do("GET", "/api/v1/account", nil).want("other session", http.StatusUnauthorized, "session_revoked")
	api.as(here.AccessToken).do("GET", "/api/v1/account", nil).want("this session", http.StatusOK, "")
	id.mailTo("kim@example.com", "password was changed")

	api.as(here.AccessToken).do("DELETE", "/api/v1/account", map[string]string{"password": goodPassword}).
		want("delete with old password", http.StatusForbidden, "wrong_password")
	api.as(here.AccessToken).do("DELETE", "/api/v1/account", map[string]string{"password": "violet-harbor-lantern-7"}).
		want("delete", http.StatusNoContent, "")
	api.as(here.AccessToken).do("GET", "/api/v1/account", nil).want("token after deletion", http.StatusUnauthorized, "session_revoked")
	api.do("POST", "/api/v1/auth/login", map[string]any{"email": "kim@example.com", "password": "violet-harbor-lantern-7", "device": map[string]string{"name": "x", "kind": "web"}}).
		want("login after deletion", http.StatusUnauthorized, "invalid_credentials")
	id.mailTo("kim@example.com", "deleted")
	// Auth forgets the user through the queue.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var n int
		if err := id.db.Get(&n, `SELECT (SELECT count(*) FROM auth.sessions) + (SELECT count(*) FROM auth.passwords)`); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("auth still holds %d rows for the deleted account", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The address can be used again.
	id.signUp("kim@example.com")
}

func TestAdminCreateUser(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	var out, errOut bytes.Buffer
	getenv := env(id.dbURL, map[string]string{"MAIL_DIR": id.mailDir})
	code := adminCmd(context.Background(), []string{"create-user", "--email", "ops@example.com", "--admin", "--password-stdin"}, getenv,
		strings.NewReader("violet-harbor-lantern-7\n"), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	api := newClient(t, id.a.URL())
	lt := id.login(api, "ops@example.com", "violet-harbor-lantern-7", "Terminal")
	api.as(lt.AccessToken).do("GET", "/api/v1/registry", nil).want("admin reads the registry", http.StatusOK, "")
	id.signUp("viewer@example.com")
	vt := id.login(api, "viewer@example.com", goodPassword, "Laptop")
	api.as(vt.AccessToken).do("GET", "/api/v1/registry", nil).want("viewer reads the registry", http.StatusForbidden, "admin_required")
}

// TestRefreshCookie signs in as the web app does: the refresh token arrives
// only as an httpOnly cookie, a refresh needs the CSRF header matching the
// readable cookie, and signing out clears both.
func TestRefreshCookie(t *testing.T) {
	t.Parallel()
	_, api := setupSignedUp(t, "cookie@example.com")

	// refresh asks for new tokens as the web app does: with the cookies of
	// jar, and csrf in the header.
	refresh := func(jar []*http.Cookie, csrf string) *apiResponse {
		t.Helper()
		return api.do("POST", "/api/v1/auth/refresh", map[string]any{}, cookies(jar...), header("X-CSRF-Token", csrf))
	}
	cookie := func(resp *apiResponse, name string) *http.Cookie {
		for _, c := range resp.Cookies() {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("no %s cookie in %v", name, resp.Header["Set-Cookie"])
		return nil
	}

	resp := api.do("POST", "/api/v1/auth/login", map[string]any{"email": "cookie@example.com", "password": goodPassword,
		"device": map[string]string{"name": "Browser", "kind": "web"}, "cookie": true}).want("cookie login", http.StatusOK, "")
	if body := resp.json(); body["refresh_token"] != nil || body["access_token"] == nil {
		t.Fatalf("cookie login body should hold the access token only: %s", resp.body)
	}
	ref, csrf := cookie(resp, "sf_refresh"), cookie(resp, "sf_csrf")
	if !ref.HttpOnly || !ref.Secure || ref.SameSite != http.SameSiteStrictMode || ref.Path != "/api/v1/auth" || ref.MaxAge <= 0 {
		t.Fatalf("refresh cookie attributes: %+v", ref)
	}
	if csrf.HttpOnly || !csrf.Secure || csrf.SameSite != http.SameSiteStrictMode || csrf.Value == "" {
		t.Fatalf("csrf cookie attributes: %+v", csrf)
	}
	jar := []*http.Cookie{ref, csrf}

	// A cross-site form post carries cookies but cannot know the CSRF value.
	refresh(jar, "").want("refresh without csrf header", http.StatusForbidden, "csrf_failed")
	refresh(jar, "guess").want("refresh with wrong csrf", http.StatusForbidden, "csrf_failed")
	refresh([]*http.Cookie{ref}, csrf.Value).want("refresh with header but no csrf cookie", http.StatusForbidden, "csrf_failed")

	resp = refresh(jar, csrf.Value).want("cookie refresh", http.StatusOK, "")
	body := resp.json()
	if body["refresh_token"] != nil || body["access_token"] == nil {
		t.Fatalf("cookie refresh body: %v", body)
	}
	ref2, csrf2 := cookie(resp, "sf_refresh"), cookie(resp, "sf_csrf")
	if ref2.Value == ref.Value {
		t.Fatal("cookie refresh did not rotate the refresh token")
	}
	access := body["access_token"].(string)

	// Profile selection sticks to the cookie session: the next refresh is
	// scoped to the same profile.
	profs := api.as(access).do("GET", "/api/v1/profiles", nil).want("profiles", http.StatusOK, "").json()
	pid := profs["items"].([]any)[0].(map[string]any)["id"].(string)
	api.as(access).do("POST", "/api/v1/auth/profile", map[string]any{"profile_id": pid}).want("select profile", http.StatusOK, "")
	jar = []*http.Cookie{ref2, csrf2}
	resp = refresh(jar, csrf2.Value).want("refresh after profile", http.StatusOK, "")
	access = resp.json()["access_token"].(string)
	if claims := decodeClaims(t, access); claims["pid"] != pid {
		t.Fatalf("refreshed token lost the profile: %v", claims)
	}
	ref3, csrf3 := cookie(resp, "sf_refresh"), cookie(resp, "sf_csrf")

	// Sign out clears both cookies, and the old cookie is dead.
	resp = api.as(access).do("POST", "/api/v1/auth/logout", nil).want("logout", http.StatusNoContent, "")
	if c := cookie(resp, "sf_refresh"); c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("logout did not clear the refresh cookie: %+v", c)
	}
	if c := cookie(resp, "sf_csrf"); c.MaxAge >= 0 {
		t.Fatalf("logout did not clear the csrf cookie: %+v", c)
	}
	resp = refresh([]*http.Cookie{ref3, csrf3}, csrf3.Value).want("refresh after logout", http.StatusUnauthorized, "session_revoked")
	if c := cookie(resp, "sf_refresh"); c.MaxAge >= 0 {
		t.Fatalf("a refused cookie refresh should clear the cookie: %+v", c)
	}
}

// decodeClaims returns an access token's payload, unverified.
func decodeClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	if err == nil {
		err = json.Unmarshal(payload, &m)
	}
	if err != nil {
		t.Fatalf("token payload: %v", err)
	}
	return m
}
