package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/auth/token"
	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/pgtest"
)

// clock is a settable Config.Now shared by the managers of one test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type testBundle struct {
	db    *sqlx.DB
	clock *clock
}

// setup returns a Manager in database mode on a fresh database, and the
// bundle to start more instances on the same database.
func setup(t *testing.T) (*token.Manager, *testBundle) {
	t.Helper()
	b := &testBundle{db: pgtest.NewDB(t), clock: newClock()}
	return b.instance(t), b
}

// setupTwo is setup with two instances on one database and clock.
func setupTwo(t *testing.T) (a, other *token.Manager, b *testBundle) {
	t.Helper()
	a, b = setup(t)
	return a, b.instance(t), b
}

// instance starts another Manager on the bundle's database and clock, as
// another instance of streamflix would.
func (b *testBundle) instance(t *testing.T) *token.Manager {
	t.Helper()
	m, err := token.New(context.Background(), token.Config{DB: b.db, Now: b.clock.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

var (
	testKeysOnce sync.Once
	testKeys     []*rsa.PrivateKey
)

// testKey returns the i-th of a few RSA keys generated once per process.
func testKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	testKeysOnce.Do(func() {
		for range 3 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testKeys = append(testKeys, k)
		}
	})
	return testKeys[i]
}

func pkcs8PEM(t testing.TB, k any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// static returns a Manager whose keys come from AUTH_SIGNING_KEYS: the test
// keys numbered idx, the first signing.
func static(t testing.TB, cfg token.Config, idx ...int) *token.Manager {
	t.Helper()
	for _, i := range idx {
		cfg.KeysPEM += pkcs8PEM(t, testKey(t, i))
	}
	m, err := token.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func sampleClaims() token.Claims {
	return token.Claims{
		UserID:        "0c9d2b1e-6a51-4a59-9d7e-2d4f1f3f6a10",
		SessionID:     "7f1f4a0e-2f0b-4a7a-8c43-55e1f5a5e0d2",
		ProfileID:     "b1c2d3e4-0000-4000-8000-000000000001",
		Roles:         []string{"admin", "support"},
		MaturityLevel: 7,
		Kids:          true,
	}
}

func issue(t *testing.T, m *token.Manager, c token.Claims) string {
	t.Helper()
	tok, _, err := m.Issue(c)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return tok
}

// wantCode asserts err is the apperr Unauthorized error with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	e := apperr.From(err)
	if e == nil || e.Code != code || e.Kind != apperr.Unauthorized || e.HTTPStatus() != 401 {
		t.Fatalf("err = %v, want Unauthorized %q", err, code)
	}
}

func header(t *testing.T, tok string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	kid, _ := header(t, tok)["kid"].(string)
	return kid
}

func segment(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// validPayload is the claims segment of a token m would accept at now.
func validPayload(now time.Time) map[string]any {
	return map[string]any{
		"iss": "streamflix", "aud": []string{"streamflix"},
		"sub": "u1", "sid": "s1", "roles": []string{"admin"},
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
}

func kids(j token.JWKS) []string {
	var out []string
	for _, k := range j.Keys {
		out = append(out, k.Kid)
	}
	return out
}

func TestIssueVerify(t *testing.T) {
	t.Parallel()
	m, b := setup(t)

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		in := sampleClaims()
		tok, exp, err := m.Issue(in)
		if err != nil {
			t.Fatal(err)
		}
		now := b.clock.Now()
		if want := now.Add(15 * time.Minute); !exp.Equal(want) {
			t.Errorf("expiresAt = %v, want %v", exp, want)
		}
		got, err := m.Verify(tok)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		want := in
		want.ExpiresAt, want.IssuedAt = exp, now
		// Compare times as instants; the zone is not part of a claim.
		got.ExpiresAt, got.IssuedAt = got.ExpiresAt.UTC(), got.IssuedAt.UTC()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Verify = %+v\nwant      %+v", got, want)
		}
		if h := header(t, tok); h["alg"] != "RS256" || h["kid"] != m.Keys()[0].ID {
			t.Errorf("header = %v, want alg RS256 and kid %s", h, m.Keys()[0].ID)
		}
	})

	t.Run("NoProfile", func(t *testing.T) {
		t.Parallel()
		got, err := m.Verify(issue(t, m, token.Claims{UserID: "u", SessionID: "s"}))
		if err != nil {
			t.Fatal(err)
		}
		if got.ProfileID != "" || got.Roles != nil || got.MaturityLevel != 0 || got.Kids {
			t.Errorf("Verify = %+v, want no profile claims", got)
		}
	})

	t.Run("ErrMissingSession", func(t *testing.T) {
		t.Parallel()
		if _, _, err := m.Issue(token.Claims{UserID: "u"}); err == nil {
			t.Fatal("Issue without SessionID: no error")
		}
	})
}

func TestVerifyExpiry(t *testing.T) {
	t.Parallel()
	clk := newClock()
	m := static(t, token.Config{Now: clk.Now}, 0)
	tok := issue(t, m, sampleClaims())

	clk.Advance(15*time.Minute + 29*time.Second) // within the 30s leeway
	if _, err := m.Verify(tok); err != nil {
		t.Fatalf("Verify within leeway: %v", err)
	}
	clk.Advance(2 * time.Second)
	_, err := m.Verify(tok)
	wantCode(t, err, "token_expired")
	if !errors.Is(err, token.ErrTokenExpired) {
		t.Errorf("err = %v, want ErrTokenExpired", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	clk := newClock()
	cfg := token.Config{Now: clk.Now}
	m := static(t, cfg, 0)
	now := clk.Now()
	good := issue(t, m, sampleClaims())
	h, p, s := func() (string, string, string) {
		parts := strings.Split(good, ".")
		return parts[0], parts[1], parts[2]
	}()
	kid := m.Keys()[0].ID
	other := static(t, cfg, 1)

	pubDER, err := x509.MarshalPKIXPublicKey(&testKey(t, 0).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pkcs1PEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&testKey(t, 0).PublicKey)})

	sign := func(method jwt.SigningMethod, key any, hdr map[string]any, claims map[string]any) string {
		tk := jwt.NewWithClaims(method, jwt.MapClaims(claims))
		for k, v := range hdr {
			tk.Header[k] = v
		}
		str, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return str
	}

	tamperedClaims := validPayload(now)
	tamperedClaims["sub"] = "someone-else"
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(p)
	i := len(flipped) / 2
	if flipped[i] == 'A' {
		flipped[i] = 'B'
	} else {
		flipped[i] = 'A'
	}

	// Each token is invalid_token, never expired and never accepted.
	tests := []struct {
		name, tok string
	}{
		{"Empty", ""},
		{"Garbage", "not.a.token"},
		{"TwoSegments", h + "." + p},
		{"FourSegments", good + ".x"},
		{"FlippedPayloadChar", h + "." + string(flipped) + "." + s},
		{"ReencodedPayload", h + "." + segment(tamperedClaims) + "." + s},
		{"SignatureDropped", h + "." + p + "."},
		{"SignatureOfOtherToken", h + "." + p + "." + strings.Split(issue(t, m, token.Claims{UserID: "x", SessionID: "y"}), ".")[2]},
		{"OtherManagersToken", issue(t, other, sampleClaims())},
		{"OtherKeyClaimingOurKid", sign(jwt.SigningMethodRS256, testKey(t, 1), map[string]any{"kid": kid}, validPayload(now))},
		{"NoKid", sign(jwt.SigningMethodRS256, testKey(t, 0), nil, validPayload(now))},
		{"AlgNone", segment(map[string]any{"alg": "none", "typ": "JWT"}) + "." + segment(validPayload(now)) + "."},
		{"AlgNoneWithKid", segment(map[string]any{"alg": "none", "typ": "JWT", "kid": kid}) + "." + segment(validPayload(now)) + "."},
		{"AlgNoneLibrary", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": kid}, validPayload(now))},
		{"HS256PublicKeyPEM", sign(jwt.SigningMethodHS256, pubPEM, map[string]any{"kid": kid}, validPayload(now))},
		{"HS256PublicKeyPKCS1PEM", sign(jwt.SigningMethodHS256, pkcs1PEM, map[string]any{"kid": kid}, validPayload(now))},
		{"HS256PublicKeyDER", sign(jwt.SigningMethodHS256, pubDER, map[string]any{"kid": kid}, validPayload(now))},
		{"PS256OurKey", sign(jwt.SigningMethodPS256, testKey(t, 0), map[string]any{"kid": kid}, validPayload(now))},
		{"ES256", sign(jwt.SigningMethodES256, ecKey, map[string]any{"kid": kid}, validPayload(now))},
		{"WrongAudience", issue(t, static(t, token.Config{Now: clk.Now, Audience: "partner"}, 0), sampleClaims())},
		{"WrongIssuer", issue(t, static(t, token.Config{Now: clk.Now, Issuer: "evil"}, 0), sampleClaims())},
		{"NotYetValid", issue(t, static(t, token.Config{Now: func() time.Time { return now.Add(time.Minute) }}, 0), sampleClaims())},
		{"NoExpiry", sign(jwt.SigningMethodRS256, testKey(t, 0), map[string]any{"kid": kid}, func() map[string]any {
			c := validPayload(now)
			delete(c, "exp")
			return c
		}())},
		{"NoSessionID", sign(jwt.SigningMethodRS256, testKey(t, 0), map[string]any{"kid": kid}, func() map[string]any {
			c := validPayload(now)
			delete(c, "sid")
			return c
		}())},
		// Expired too, but for someone else: not ours to call expired.
		{"WrongAudienceAndExpired", issue(t, static(t, token.Config{Now: func() time.Time { return now.Add(-time.Hour) }, Audience: "partner"}, 0), sampleClaims())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := m.Verify(tt.tok)
			wantCode(t, err, "invalid_token")
			if !errors.Is(err, token.ErrInvalidToken) {
				t.Errorf("err = %v, want ErrInvalidToken", err)
			}
			if !reflect.DeepEqual(c, token.Claims{}) {
				t.Errorf("claims = %+v, want none", c)
			}
		})
	}

	// The forgeries are right but for their signature: the same claims,
	// properly signed, pass.
	t.Run("ControlOK", func(t *testing.T) {
		t.Parallel()
		if _, err := m.Verify(sign(jwt.SigningMethodRS256, testKey(t, 0), map[string]any{"kid": kid}, validPayload(now))); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	})
}

func TestInstances(t *testing.T) {
	t.Parallel()

	t.Run("ShareKeys", func(t *testing.T) {
		t.Parallel()
		a, other, _ := setupTwo(t)
		if _, err := other.Verify(issue(t, a, sampleClaims())); err != nil {
			t.Errorf("b verifies a's token: %v", err)
		}
		if _, err := a.Verify(issue(t, other, sampleClaims())); err != nil {
			t.Errorf("a verifies b's token: %v", err)
		}
		if ka, kb := kids(a.JWKS()), kids(other.JWKS()); len(ka) != 1 || !reflect.DeepEqual(ka, kb) {
			t.Errorf("JWKS kids: a %v, b %v, want the same one key", ka, kb)
		}
	})

	t.Run("ConcurrentStartCreatesOneKey", func(t *testing.T) {
		t.Parallel()
		db := pgtest.NewDB(t)
		const n = 5
		var (
			wg   sync.WaitGroup
			mgrs [n]*token.Manager
			errs [n]error
		)
		for i := range n {
			wg.Go(func() {
				mgrs[i], errs[i] = token.New(context.Background(), token.Config{DB: db})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("New %d: %v", i, err)
			}
		}
		var rows int
		if err := db.Get(&rows, `SELECT count(*) FROM auth.signing_keys`); err != nil {
			t.Fatal(err)
		}
		if rows != 1 {
			t.Errorf("signing_keys has %d rows, want 1", rows)
		}
		tok := issue(t, mgrs[0], sampleClaims())
		for i, m := range mgrs {
			if _, err := m.Verify(tok); err != nil {
				t.Errorf("instance %d: Verify: %v", i, err)
			}
		}
	})
}

func TestRotate(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		a, other, b := setupTwo(t)
		oldKid := a.Keys()[0].ID
		before := issue(t, a, sampleClaims())

		b.clock.Advance(10 * time.Second) // less than RefreshInterval: other learns of the key from a token
		k, err := a.Rotate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !k.Signing || k.ID == oldKid || k.Private == nil || k.RetiredAt != nil {
			t.Errorf("Rotate = {ID:%s Signing:%t RetiredAt:%v}, want a new signing key", k.ID, k.Signing, k.RetiredAt)
		}
		after := issue(t, a, sampleClaims())
		if got := kidOf(t, after); got != k.ID {
			t.Errorf("new token kid = %s, want %s", got, k.ID)
		}
		if got := kidOf(t, before); got != oldKid {
			t.Errorf("old token kid = %s, want %s", got, oldKid)
		}
		if got, want := kids(a.JWKS()), []string{k.ID, oldKid}; !reflect.DeepEqual(got, want) {
			t.Errorf("a JWKS kids = %v, want %v", got, want)
		}

		// other learns the key from the unknown kid, and keeps the old one.
		if _, err := other.Verify(after); err != nil {
			t.Errorf("other verifies new token: %v", err)
		}
		if _, err := other.Verify(before); err != nil {
			t.Errorf("other verifies old token: %v", err)
		}
		if got, want := kids(other.JWKS()), []string{k.ID, oldKid}; !reflect.DeepEqual(got, want) {
			t.Errorf("other JWKS kids = %v, want %v", got, want)
		}
		if got := kidOf(t, issue(t, other, sampleClaims())); got != k.ID {
			t.Errorf("other signs with %s, want the new key %s", got, k.ID)
		}
	})

	t.Run("PeriodicRefresh", func(t *testing.T) {
		t.Parallel()
		a, other, b := setupTwo(t)
		k, err := a.Rotate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := kids(other.JWKS()); len(got) != 1 {
			t.Fatalf("other JWKS kids = %v before its refresh is due, want the old key only", got)
		}
		b.clock.Advance(token.RefreshInterval)
		// The reload runs in the background, started by this call.
		deadline := time.Now().Add(10 * time.Second)
		for len(other.JWKS().Keys) != 2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := kids(other.JWKS()); len(got) != 2 || got[0] != k.ID {
			t.Errorf("other JWKS kids = %v after refresh, want [%s, old]", got, k.ID)
		}
	})

	t.Run("UnknownKidReloadRateLimited", func(t *testing.T) {
		t.Parallel()
		a, other, b := setupTwo(t)
		// A token naming a kid nobody has costs other one reload...
		forged := segment(map[string]any{"alg": "RS256", "typ": "JWT", "kid": "no-such-key"}) + "." + segment(validPayload(b.clock.Now())) + ".c2ln"
		_, err := other.Verify(forged)
		wantCode(t, err, "invalid_token")
		// ...after which reloads wait 5 seconds, even for a real new key.
		if _, err := a.Rotate(context.Background()); err != nil {
			t.Fatal(err)
		}
		tok := issue(t, a, sampleClaims())
		_, err = other.Verify(tok)
		wantCode(t, err, "invalid_token")
		b.clock.Advance(5 * time.Second)
		if _, err := other.Verify(tok); err != nil {
			t.Errorf("Verify 5s later: %v", err)
		}
	})

	t.Run("ErrStaticKeys", func(t *testing.T) {
		t.Parallel()
		m := static(t, token.Config{}, 0)
		if _, err := m.Rotate(context.Background()); !errors.Is(err, token.ErrStaticKeys) {
			t.Errorf("Rotate err = %v, want ErrStaticKeys", err)
		}
		if _, err := m.RetireOld(context.Background()); !errors.Is(err, token.ErrStaticKeys) {
			t.Errorf("RetireOld err = %v, want ErrStaticKeys", err)
		}
	})
}

func TestRetireOld(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := setup(t)
	oldKid := a.Keys()[0].ID

	if n, err := a.RetireOld(ctx); err != nil || n != 0 {
		t.Fatalf("RetireOld with one key = %d, %v; want 0 (never the signing key)", n, err)
	}
	b.clock.Advance(time.Hour)
	k, err := a.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(30 * time.Minute) // exactly 2×TTL: tokens of the old key may still be valid within leeway
	if n, err := a.RetireOld(ctx); err != nil || n != 0 {
		t.Fatalf("RetireOld at 2×TTL = %d, %v; want 0", n, err)
	}
	if got := kids(a.JWKS()); len(got) != 2 {
		t.Fatalf("JWKS kids = %v, want both", got)
	}
	b.clock.Advance(time.Minute)
	if n, err := a.RetireOld(ctx); err != nil || n != 1 {
		t.Fatalf("RetireOld after 2×TTL = %d, %v; want 1", n, err)
	}
	if got, want := kids(a.JWKS()), []string{k.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("JWKS kids = %v, want %v (old key %s gone)", got, want, oldKid)
	}
	var retired int
	if err := b.db.Get(&retired, `SELECT count(*) FROM auth.signing_keys WHERE kid = $1 AND retired_at IS NOT NULL`, oldKid); err != nil {
		t.Fatal(err)
	}
	if retired != 1 {
		t.Errorf("old key not marked retired in the table")
	}
	// Another instance starting now sees only the new key.
	if got, want := kids(b.instance(t).JWKS()), []string{k.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("new instance JWKS kids = %v, want %v", got, want)
	}
	if n, err := a.RetireOld(ctx); err != nil || n != 0 {
		t.Errorf("RetireOld again = %d, %v; want 0", n, err)
	}
}

func TestKeysPEM(t *testing.T) {
	t.Parallel()

	t.Run("FirstSignsAllVerify", func(t *testing.T) {
		t.Parallel()
		m := static(t, token.Config{}, 0, 1)
		previous := static(t, token.Config{}, 1) // before key 0 was added
		keys := m.Keys()
		if len(keys) != 2 || !keys[0].Signing || keys[1].Signing {
			t.Fatalf("Keys signing = %v, want [true false]", []bool{keys[0].Signing, keys[1].Signing})
		}
		if got := kidOf(t, issue(t, m, sampleClaims())); got != keys[0].ID {
			t.Errorf("token kid = %s, want the first key's %s", got, keys[0].ID)
		}
		if _, err := m.Verify(issue(t, previous, sampleClaims())); err != nil {
			t.Errorf("token of the second key: %v", err)
		}
		if got, want := kids(m.JWKS()), []string{keys[0].ID, keys[1].ID}; !reflect.DeepEqual(got, want) {
			t.Errorf("JWKS kids = %v, want %v", got, want)
		}
		// A manager that has only key 0 rejects key 1's tokens.
		_, err := static(t, token.Config{}, 0).Verify(issue(t, previous, sampleClaims()))
		wantCode(t, err, "invalid_token")
	})

	t.Run("ErrMalformed", func(t *testing.T) {
		t.Parallel()
		good := pkcs8PEM(t, testKey(t, 0))
		small, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testKey(t, 0))}))
		body := strings.Split(good, "\n")[3] // a line of key material
		corrupt := strings.Replace(good, body, strings.Repeat("A", len(body)), 1)
		for name, pemText := range map[string]string{
			"NotPEM":       "hunter2",
			"PKCS1":        pkcs1,
			"ECKey":        pkcs8PEM(t, ec),
			"RSA1024":      pkcs8PEM(t, small),
			"Corrupt":      corrupt,
			"TrailingJunk": good + "hunter2\n",
			"PublicKey": func() string {
				der, _ := x509.MarshalPKIXPublicKey(&testKey(t, 0).PublicKey)
				return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
			}(),
			"Duplicate": good + good,
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				_, err := token.New(context.Background(), token.Config{KeysPEM: pemText})
				if err == nil || !strings.Contains(err.Error(), "AUTH_SIGNING_KEYS") {
					t.Fatalf("err = %v, want one naming AUTH_SIGNING_KEYS", err)
				}
				if strings.Contains(err.Error(), body) || strings.Contains(err.Error(), "hunter2") {
					t.Errorf("err quotes the key: %v", err)
				}
			})
		}
	})

	t.Run("ErrNoKeySource", func(t *testing.T) {
		t.Parallel()
		if _, err := token.New(context.Background(), token.Config{}); err == nil || !strings.Contains(err.Error(), "AUTH_SIGNING_KEYS") {
			t.Errorf("err = %v, want one naming AUTH_SIGNING_KEYS", err)
		}
	})
}

func TestJWKS(t *testing.T) {
	t.Parallel()

	t.Run("Document", func(t *testing.T) {
		t.Parallel()
		m := static(t, token.Config{}, 0)
		raw, err := json.Marshal(m.JWKS())
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Keys []map[string]string `json:"keys"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Keys) != 1 {
			t.Fatalf("JWKS = %s, want one key", raw)
		}
		k := doc.Keys[0]
		for f, want := range map[string]string{"kty": "RSA", "use": "sig", "alg": "RS256", "e": "AQAB", "kid": m.Keys()[0].ID} {
			if k[f] != want {
				t.Errorf("%s = %q, want %q", f, k[f], want)
			}
		}
		if len(k) != 6 || strings.Contains(string(raw), `"d"`) {
			t.Errorf("JWKS = %s, want exactly kty, kid, use, alg, n, e", raw)
		}

		// A service that has only the JWKS verifies our tokens.
		n, err := base64.RawURLEncoding.DecodeString(k["n"])
		if err != nil {
			t.Fatal(err)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
		tok := issue(t, m, sampleClaims())
		if _, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return pub, nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience("streamflix")); err != nil {
			t.Errorf("verify with the JWKS key: %v", err)
		}
	})

	// RFC 7638 §3.1's example key and thumbprint.
	t.Run("ThumbprintRFC7638", func(t *testing.T) {
		t.Parallel()
		n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
		if err != nil {
			t.Fatal(err)
		}
		got := token.Thumbprint(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
		if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
			t.Errorf("Thumbprint = %s, want %s", got, want)
		}
	})
}

// TestVerifiedCache: a token verified once is answered from memory, but
// expiry and key retirement still apply to it.
func TestVerifiedCache(t *testing.T) {
	t.Parallel()
	m, b := setup(t)
	tok, _, err := m.Issue(sampleClaims())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		c, err := m.Verify(tok)
		if err != nil || c.UserID != sampleClaims().UserID {
			t.Fatalf("verify %d: %+v %v", i, c, err)
		}
	}
	// Tampering with a cached token is still caught.
	if _, err := m.Verify(tok + "x"); !errors.Is(err, token.ErrInvalidToken) {
		t.Fatalf("tampered cached token: %v", err)
	}
	b.clock.Advance(token.DefaultTTL + token.Leeway + time.Second)
	if _, err := m.Verify(tok); !errors.Is(err, token.ErrTokenExpired) {
		t.Fatalf("expired cached token: %v, want token_expired", err)
	}
}
