package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
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

// call sends a JSON request and decodes a JSON answer into out (if not
// nil). A caller that wants the answer decoded wants a success: an error
// status fails the test rather than leaving out empty.
func (id *identity) call(base, method, path, tok string, body any, out any) (int, map[string]any) {
	id.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			id.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	resp, raw := do(id.t, method, base+path, tok, rd)
	if out != nil && resp.StatusCode >= 400 {
		id.t.Fatalf("%s %s: status %d: %s", method, path, resp.StatusCode, raw)
	}
	var m map[string]any
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &m)
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				id.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
			}
		}
	}
	return resp.StatusCode, m
}

func wantStatus(t *testing.T, what string, got int, body map[string]any, want int, code string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d, want %d; body %v", what, got, want, body)
	}
	if code != "" && body["code"] != code {
		t.Fatalf("%s: code %v, want %s; body %v", what, body["code"], code, body)
	}
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
	st, body := id.call(id.a.URL(), "POST", "/api/v1/accounts", "", map[string]any{"email": email, "password": goodPassword, "name": "Ada"}, nil)
	wantStatus(id.t, "sign up "+email, st, body, http.StatusCreated, "")
}

func (id *identity) login(base, email, pw, device string) tokens {
	id.t.Helper()
	var t tokens
	st, body := id.call(base, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": pw, "device": map[string]string{"name": device, "kind": "web"}}, &t)
	wantStatus(id.t, "login "+email, st, body, http.StatusOK, "")
	if t.AccessToken == "" || t.RefreshToken == "" || t.Session.ID == "" {
		id.t.Fatalf("login answer missing tokens: %v", body)
	}
	return t
}

func TestSignUpVerifyLogin(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	base := id.a.URL()
	id.signUp("Ada@Example.com")

	// The same address in another case is taken.
	st, body := id.call(base, "POST", "/api/v1/accounts", "", map[string]any{"email": "ada@example.COM", "password": goodPassword}, nil)
	wantStatus(t, "duplicate", st, body, http.StatusConflict, "email_taken")

	tok, _ := id.mailTo("Ada@Example.com", "erify")
	if tok == "" {
		t.Fatal("verification email holds no link token")
	}
	lt := id.login(base, "ada@example.com", goodPassword, "Laptop")
	var acc struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}
	id.call(base, "GET", "/api/v1/account", lt.AccessToken, nil, &acc)
	if acc.Email != "Ada@Example.com" || acc.EmailVerified {
		t.Fatalf("account before verification: %+v", acc)
	}
	st, body = id.call(base, "POST", "/api/v1/account/verify-email", "", map[string]any{"token": tok}, &acc)
	wantStatus(t, "verify", st, body, http.StatusOK, "")
	if !acc.EmailVerified {
		t.Fatal("not verified after using the link")
	}
	st, body = id.call(base, "POST", "/api/v1/account/verify-email", "", map[string]any{"token": tok}, nil)
	wantStatus(t, "verify twice", st, body, http.StatusUnprocessableEntity, "token_invalid")

	// One profile came with the account.
	var ps struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	id.call(base, "GET", "/api/v1/profiles", lt.AccessToken, nil, &ps)
	if len(ps.Items) != 1 || ps.Items[0].Name != "Ada" {
		t.Fatalf("profiles after sign-up: %+v", ps)
	}
}

func TestSignUpBadInput(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	base := id.a.URL()
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
		resp, raw := do(t, "POST", base+"/api/v1/accounts", "", strings.NewReader(c.body))
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		wantStatus(t, c.name, resp.StatusCode, body, c.status, c.code)
		if resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: content type %q", c.name, resp.Header.Get("Content-Type"))
		}
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
	id := setupIdentity(t, false)
	base := id.a.URL()
	id.signUp("bob@example.com")
	st, wrong := id.call(base, "POST", "/api/v1/auth/login", "", map[string]any{"email": "bob@example.com", "password": "wrong-password-1", "device": map[string]string{"name": "x", "kind": "web"}}, nil)
	wantStatus(t, "wrong password", st, wrong, http.StatusUnauthorized, "invalid_credentials")
	st, unknown := id.call(base, "POST", "/api/v1/auth/login", "", map[string]any{"email": "nobody@example.com", "password": "wrong-password-1", "device": map[string]string{"name": "x", "kind": "web"}}, nil)
	wantStatus(t, "unknown account", st, unknown, http.StatusUnauthorized, "invalid_credentials")
	if wrong["detail"] != unknown["detail"] {
		t.Errorf("answers differ between a wrong password and an unknown account: %v vs %v", wrong, unknown)
	}
	st, body := id.call(base, "POST", "/api/v1/auth/login", "", map[string]any{"email": "bob@example.com", "password": goodPassword, "device": map[string]string{"name": "x", "kind": "fridge"}}, nil)
	wantStatus(t, "bad device kind", st, body, http.StatusUnprocessableEntity, "validation_failed")
}

func TestBruteForceLockout(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	base := id.a.URL()
	id.signUp("carol@example.com")
	attempt := func(pw string) (int, map[string]any, http.Header) {
		b, _ := json.Marshal(map[string]any{"email": "carol@example.com", "password": pw, "device": map[string]string{"name": "x", "kind": "web"}})
		resp, raw := do(t, "POST", base+"/api/v1/auth/login", "", bytes.NewReader(b))
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return resp.StatusCode, m, resp.Header
	}
	for i := 0; i < 5; i++ {
		st, body, _ := attempt("wrong-password-1")
		wantStatus(t, fmt.Sprintf("failure %d", i+1), st, body, http.StatusUnauthorized, "invalid_credentials")
	}
	// Blocked now, even with the right password, with Retry-After.
	st, body, h := attempt(goodPassword)
	wantStatus(t, "after five failures", st, body, http.StatusTooManyRequests, "login_locked")
	if h.Get("Retry-After") == "" {
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
	id := setupIdentity(t, false)
	base := id.a.URL()
	id.signUp("dan@example.com")
	lt := id.login(base, "dan@example.com", goodPassword, "Phone")
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
		st, body := id.call(base, "GET", "/api/v1/account", c.tok, nil, nil)
		wantStatus(t, c.name, st, body, http.StatusUnauthorized, c.code)
	}
	// The real token still works.
	st, body := id.call(base, "GET", "/api/v1/account", lt.AccessToken, nil, nil)
	wantStatus(t, "real token", st, body, http.StatusOK, "")
	// JWKS publishes the verifying key.
	var jwks struct {
		Keys []struct {
			Kid, Kty, Alg string
		} `json:"keys"`
	}
	id.call(base, "GET", "/api/v1/auth/jwks.json", "", nil, &jwks)
	if len(jwks.Keys) == 0 || jwks.Keys[0].Kty != "RSA" || jwks.Keys[0].Alg != "RS256" {
		t.Fatalf("jwks: %+v", jwks)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	base := id.a.URL()
	id.signUp("erin@example.com")
	first := id.login(base, "erin@example.com", goodPassword, "TV")
	var second tokens
	st, body := id.call(base, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}, &second)
	wantStatus(t, "refresh", st, body, http.StatusOK, "")
	if second.RefreshToken == first.RefreshToken || second.Session.ID != first.Session.ID {
		t.Fatalf("refresh did not rotate within the session: %+v", second)
	}
	// The old one again: the session is revoked, the new one dies with it.
	st, body = id.call(base, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}, nil)
	wantStatus(t, "reuse", st, body, http.StatusUnauthorized, "refresh_token_reused")
	st, body = id.call(base, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": second.RefreshToken}, nil)
	wantStatus(t, "after reuse", st, body, http.StatusUnauthorized, "session_revoked")
	st, body = id.call(base, "GET", "/api/v1/account", second.AccessToken, nil, nil)
	wantStatus(t, "access after reuse", st, body, http.StatusUnauthorized, "session_revoked")
	st, body = id.call(base, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": "made-up"}, nil)
	wantStatus(t, "unknown refresh", st, body, http.StatusUnauthorized, "invalid_refresh_token")
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
	laptop := id.login(id.a.URL(), "fay@example.com", goodPassword, "Laptop")
	phone := id.login(id.b.URL(), "fay@example.com", goodPassword, "Phone")
	// Both instances accept both tokens (and warm their session cache).
	for _, in := range []*instance{id.a, id.b} {
		for _, tk := range []tokens{laptop, phone} {
			st, body := id.call(in.URL(), "GET", "/api/v1/account", tk.AccessToken, nil, nil)
			wantStatus(t, "before revocation", st, body, http.StatusOK, "")
		}
	}
	var list struct {
		Items []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"items"`
	}
	id.call(id.a.URL(), "GET", "/api/v1/auth/sessions", laptop.AccessToken, nil, &list)
	if len(list.Items) != 2 {
		t.Fatalf("sessions: %+v", list)
	}
	st, body := id.call(id.a.URL(), "DELETE", "/api/v1/auth/sessions/"+phone.Session.ID, laptop.AccessToken, nil, nil)
	wantStatus(t, "sign out phone", st, body, http.StatusNoContent, "")
	st, body = id.call(id.b.URL(), "GET", "/api/v1/account", phone.AccessToken, nil, nil)
	wantStatus(t, "phone on the other instance", st, body, http.StatusUnauthorized, "session_revoked")
	st, body = id.call(id.b.URL(), "GET", "/api/v1/account", laptop.AccessToken, nil, nil)
	wantStatus(t, "laptop still signed in", st, body, http.StatusOK, "")

	// Everywhere: this session too.
	st, body = id.call(id.b.URL(), "DELETE", "/api/v1/auth/sessions", laptop.AccessToken, nil, nil)
	wantStatus(t, "sign out everywhere", st, body, http.StatusNoContent, "")
	st, body = id.call(id.a.URL(), "GET", "/api/v1/account", laptop.AccessToken, nil, nil)
	wantStatus(t, "laptop after everywhere", st, body, http.StatusUnauthorized, "session_revoked")
}

func TestProfilesAndPIN(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	base := id.a.URL()
	id.signUp("gus@example.com")
	lt := id.login(base, "gus@example.com", goodPassword, "TV")

	var kid struct {
		ID            string `json:"id"`
		Kids          bool   `json:"kids"`
		MaturityLevel int    `json:"maturity_level"`
	}
	st, body := id.call(base, "POST", "/api/v1/profiles", lt.AccessToken, map[string]any{"name": "Kid", "kids": true}, &kid)
	wantStatus(t, "create kids profile", st, body, http.StatusCreated, "")
	if !kid.Kids || kid.MaturityLevel != 20 {
		t.Fatalf("kids profile: %+v", kid)
	}
	st, body = id.call(base, "POST", "/api/v1/profiles", lt.AccessToken, map[string]any{"name": "Teen", "kids": true, "maturity_level": 50}, nil)
	wantStatus(t, "kids profile asking for mature content", st, body, http.StatusUnprocessableEntity, "validation_failed")
	st, body = id.call(base, "POST", "/api/v1/profiles", lt.AccessToken, map[string]any{"name": "Kid"}, nil)
	wantStatus(t, "duplicate name", st, body, http.StatusConflict, "profile_name_taken")

	var parent struct {
		ID     string `json:"id"`
		HasPIN bool   `json:"has_pin"`
	}
	st, body = id.call(base, "POST", "/api/v1/profiles", lt.AccessToken, map[string]any{"name": "Parent", "pin": "4321"}, &parent)
	wantStatus(t, "create PIN profile", st, body, http.StatusCreated, "")
	if !parent.HasPIN {
		t.Fatal("has_pin false")
	}
	// Up to five profiles.
	for _, n := range []string{"C", "D"} {
		st, body = id.call(base, "POST", "/api/v1/profiles", lt.AccessToken, map[string]any{"name": n}, nil)
		wantStatus(t, "create "+n, st, body, http.StatusCreated, "")
	}
	st, body = id.call(base, "POST", "/api/v1/profiles", lt.AccessToken, map[string]any{"name": "Sixth"}, nil)
	wantStatus(t, "sixth profile", st, body, http.StatusConflict, "profile_limit_reached")

	// Selecting the kids profile gives tokens scoped to it.
	var kt tokens
	st, body = id.call(base, "POST", "/api/v1/auth/profile", lt.AccessToken, map[string]any{"profile_id": kid.ID}, &kt)
	wantStatus(t, "select kids profile", st, body, http.StatusOK, "")
	if claims := decodeClaims(t, kt.AccessToken); claims["pid"] != kid.ID || claims["kids"] != true {
		t.Fatalf("kids token claims: %v", claims)
	}
	st, body = id.call(base, "POST", "/api/v1/profiles", kt.AccessToken, map[string]any{"name": "Sneaky"}, nil)
	wantStatus(t, "kids profile managing profiles", st, body, http.StatusForbidden, "kids_profile")
	st, body = id.call(base, "PATCH", "/api/v1/profiles/"+kid.ID, kt.AccessToken, map[string]any{"maturity_level": 50}, nil)
	wantStatus(t, "kids profile raising its own maturity", st, body, http.StatusForbidden, "kids_profile")

	// The PIN guards the parent profile, with throttling.
	st, body = id.call(base, "POST", "/api/v1/auth/profile", lt.AccessToken, map[string]any{"profile_id": parent.ID}, nil)
	wantStatus(t, "no PIN", st, body, http.StatusForbidden, "pin_required")
	for i := 0; i < 5; i++ {
		st, body = id.call(base, "POST", "/api/v1/auth/profile", lt.AccessToken, map[string]any{"profile_id": parent.ID, "pin": "0000"}, nil)
		wantStatus(t, "wrong PIN", st, body, http.StatusForbidden, "wrong_pin")
	}
	st, body = id.call(base, "POST", "/api/v1/auth/profile", lt.AccessToken, map[string]any{"profile_id": parent.ID, "pin": "4321"}, nil)
	wantStatus(t, "after five wrong PINs", st, body, http.StatusTooManyRequests, "pin_locked")

	// Removing the PIN needs the current one.
	st, body = id.call(base, "PATCH", "/api/v1/profiles/"+parent.ID, lt.AccessToken, map[string]any{"pin": ""}, nil)
	wantStatus(t, "remove PIN without it", st, body, http.StatusForbidden, "pin_required")
}

// TestCrossAccountAccess: one user's token on another's profile or
// session is a 404, never the data.
func TestCrossAccountAccess(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	base := id.a.URL()
	id.signUp("hal@example.com")
	id.signUp("ivy@example.com")
	hal := id.login(base, "hal@example.com", goodPassword, "Laptop")
	ivy := id.login(base, "ivy@example.com", goodPassword, "Laptop")
	var ivyProfiles struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	id.call(base, "GET", "/api/v1/profiles", ivy.AccessToken, nil, &ivyProfiles)
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
		st, resp := id.call(base, c.method, c.path, hal.AccessToken, body, nil)
		if st != http.StatusNotFound {
			t.Errorf("%s %s with another user's token: %d %v, want 404", c.method, c.path, st, resp)
		}
	}
	st, body := id.call(base, "POST", "/api/v1/auth/profile", hal.AccessToken, map[string]any{"profile_id": ivyProfile}, nil)
	wantStatus(t, "select another's profile", st, body, http.StatusNotFound, "profile_not_found")
	// Ivy's session and profile are untouched.
	st, body = id.call(base, "GET", "/api/v1/profiles/"+ivyProfile, ivy.AccessToken, nil, nil)
	wantStatus(t, "ivy's profile", st, body, http.StatusOK, "")
	if body["name"] != "Ada" {
		t.Fatalf("ivy's profile changed: %v", body)
	}
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	base := id.a.URL()
	id.signUp("jo@example.com")
	old := id.login(base, "jo@example.com", goodPassword, "Laptop")

	st, unknown := id.call(base, "POST", "/api/v1/auth/password-reset", "", map[string]string{"email": "nobody@example.com"}, nil)
	wantStatus(t, "reset unknown", st, unknown, http.StatusAccepted, "")
	st, known := id.call(base, "POST", "/api/v1/auth/password-reset", "", map[string]string{"email": "jo@example.com"}, nil)
	wantStatus(t, "reset known", st, known, http.StatusAccepted, "")
	if fmt.Sprint(unknown) != fmt.Sprint(known) {
		t.Fatalf("answers differ: %v vs %v", unknown, known)
	}
	tok, _ := id.mailTo("jo@example.com", "eset")
	if tok == "" {
		t.Fatal("reset email holds no token")
	}
	st, body := id.call(base, "POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "new_password": "short"}, nil)
	wantStatus(t, "weak new password", st, body, http.StatusUnprocessableEntity, "validation_failed")
	const next = "violet-harbor-lantern-7"
	st, body = id.call(base, "POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "new_password": next}, nil)
	wantStatus(t, "confirm", st, body, http.StatusNoContent, "")
	st, body = id.call(base, "GET", "/api/v1/account", old.AccessToken, nil, nil)
	wantStatus(t, "old session after reset", st, body, http.StatusUnauthorized, "session_revoked")
	st, body = id.call(base, "POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "new_password": "another-fine-pass-8"}, nil)
	wantStatus(t, "token reused", st, body, http.StatusUnprocessableEntity, "reset_token_invalid")
	id.login(base, "jo@example.com", next, "Laptop")

	// An expired token is refused.
	id.call(base, "POST", "/api/v1/auth/password-reset", "", map[string]string{"email": "jo@example.com"}, nil)
	tok2, _ := id.mailTo("jo@example.com", "eset")
	if _, err := id.db.Exec(`UPDATE auth.reset_tokens SET expires_at = now() - interval '1 minute' WHERE used_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	st, body = id.call(base, "POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": tok2, "new_password": "another-fine-pass-8"}, nil)
	wantStatus(t, "expired token", st, body, http.StatusUnprocessableEntity, "reset_token_invalid")
}

func TestChangePasswordAndDeleteAccount(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	base := id.a.URL()
	id.signUp("kim@example.com")
	here := id.login(base, "kim@example.com", goodPassword, "Laptop")
	there := id.login(base, "kim@example.com", goodPassword, "Phone")
	// A sign-in from a device not seen before is reported by email.
	if _, text := id.mailTo("kim@example.com", "New sign-in"); !strings.Contains(text, "Phone") {
		t.Fatalf("new sign-in email does not name the device:\n%s", text)
	}

	st, body := id.call(base, "POST", "/api/v1/account/password", here.AccessToken, map[string]string{"current_password": "nope-nope-nope", "new_password": "violet-harbor-lantern-7"}, nil)
	wantStatus(t, "wrong current password", st, body, http.StatusForbidden, "wrong_password")
	st, body = id.call(base, "POST", "/api/v1/account/password", here.AccessToken, map[string]string{"current_password": goodPassword, "new_password": "violet-harbor-lantern-7"}, nil)
	wantStatus(t, "change password", st, body, http.StatusNoContent, "")
	st, body = id.call(base, "GET", "/api/v1/account", there.AccessToken, nil, nil)
	wantStatus(t, "other session", st, body, http.StatusUnauthorized, "session_revoked")
	st, body = id.call(base, "GET", "/api/v1/account", here.AccessToken, nil, nil)
	wantStatus(t, "this session", st, body, http.StatusOK, "")
	id.mailTo("kim@example.com", "password was changed")

	st, body = id.call(base, "DELETE", "/api/v1/account", here.AccessToken, map[string]string{"password": goodPassword}, nil)
	wantStatus(t, "delete with old password", st, body, http.StatusForbidden, "wrong_password")
	st, body = id.call(base, "DELETE", "/api/v1/account", here.AccessToken, map[string]string{"password": "violet-harbor-lantern-7"}, nil)
	wantStatus(t, "delete", st, body, http.StatusNoContent, "")
	st, body = id.call(base, "GET", "/api/v1/account", here.AccessToken, nil, nil)
	wantStatus(t, "token after deletion", st, body, http.StatusUnauthorized, "session_revoked")
	st, body = id.call(base, "POST", "/api/v1/auth/login", "", map[string]any{"email": "kim@example.com", "password": "violet-harbor-lantern-7", "device": map[string]string{"name": "x", "kind": "web"}}, nil)
	wantStatus(t, "login after deletion", st, body, http.StatusUnauthorized, "invalid_credentials")
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
	lt := id.login(id.a.URL(), "ops@example.com", "violet-harbor-lantern-7", "Terminal")
	st, body := id.call(id.a.URL(), "GET", "/api/v1/registry", lt.AccessToken, nil, nil)
	wantStatus(t, "admin reads the registry", st, body, http.StatusOK, "")
	id.signUp("viewer@example.com")
	vt := id.login(id.a.URL(), "viewer@example.com", goodPassword, "Laptop")
	st, body = id.call(id.a.URL(), "GET", "/api/v1/registry", vt.AccessToken, nil, nil)
	wantStatus(t, "viewer reads the registry", st, body, http.StatusForbidden, "admin_required")
}

// TestRefreshCookie signs in as the web app does: the refresh token arrives
// only as an httpOnly cookie, a refresh needs the CSRF header matching the
// readable cookie, and signing out clears both.
func TestRefreshCookie(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	base := id.a.URL()
	id.signUp("cookie@example.com")

	post := func(path, bearer string, body any, cookies []*http.Cookie, csrf string) (*http.Response, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		for _, c := range cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp, m
	}
	cookie := func(resp *http.Response, name string) *http.Cookie {
		for _, c := range resp.Cookies() {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("no %s cookie in %v", name, resp.Header["Set-Cookie"])
		return nil
	}

	resp, body := post("/api/v1/auth/login", "", map[string]any{"email": "cookie@example.com", "password": goodPassword,
		"device": map[string]string{"name": "Browser", "kind": "web"}, "cookie": true}, nil, "")
	wantStatus(t, "cookie login", resp.StatusCode, body, http.StatusOK, "")
	if body["refresh_token"] != nil || body["access_token"] == nil {
		t.Fatalf("cookie login body should hold the access token only: %v", body)
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
	resp, body = post("/api/v1/auth/refresh", "", map[string]any{}, jar, "")
	wantStatus(t, "refresh without csrf header", resp.StatusCode, body, http.StatusForbidden, "csrf_failed")
	resp, body = post("/api/v1/auth/refresh", "", map[string]any{}, jar, "guess")
	wantStatus(t, "refresh with wrong csrf", resp.StatusCode, body, http.StatusForbidden, "csrf_failed")
	resp, body = post("/api/v1/auth/refresh", "", map[string]any{}, []*http.Cookie{ref}, csrf.Value)
	wantStatus(t, "refresh with header but no csrf cookie", resp.StatusCode, body, http.StatusForbidden, "csrf_failed")

	resp, body = post("/api/v1/auth/refresh", "", map[string]any{}, jar, csrf.Value)
	wantStatus(t, "cookie refresh", resp.StatusCode, body, http.StatusOK, "")
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
	st, profs := id.call(base, "GET", "/api/v1/profiles", access, nil, nil)
	wantStatus(t, "profiles", st, profs, http.StatusOK, "")
	pid := profs["items"].([]any)[0].(map[string]any)["id"].(string)
	resp, body = post("/api/v1/auth/profile", access, map[string]any{"profile_id": pid}, nil, "")
	wantStatus(t, "select profile", resp.StatusCode, body, http.StatusOK, "")
	jar = []*http.Cookie{ref2, csrf2}
	resp, body = post("/api/v1/auth/refresh", "", map[string]any{}, jar, csrf2.Value)
	wantStatus(t, "refresh after profile", resp.StatusCode, body, http.StatusOK, "")
	if claims := decodeClaims(t, body["access_token"].(string)); claims["pid"] != pid {
		t.Fatalf("refreshed token lost the profile: %v", claims)
	}
	ref3, csrf3 := cookie(resp, "sf_refresh"), cookie(resp, "sf_csrf")
	access = body["access_token"].(string)

	// Sign out clears both cookies, and the old cookie is dead.
	resp, body = post("/api/v1/auth/logout", access, nil, nil, "")
	wantStatus(t, "logout", resp.StatusCode, body, http.StatusNoContent, "")
	if c := cookie(resp, "sf_refresh"); c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("logout did not clear the refresh cookie: %+v", c)
	}
	if c := cookie(resp, "sf_csrf"); c.MaxAge >= 0 {
		t.Fatalf("logout did not clear the csrf cookie: %+v", c)
	}
	resp, body = post("/api/v1/auth/refresh", "", map[string]any{}, []*http.Cookie{ref3, csrf3}, csrf3.Value)
	wantStatus(t, "refresh after logout", resp.StatusCode, body, http.StatusUnauthorized, "session_revoked")
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
