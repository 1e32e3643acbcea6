// Package token issues and verifies access tokens: short-lived JWTs signed
// with RS256 (RSA 2048), so that any instance, or a service split out later,
// can verify them with the public keys alone (JWKS).
//
// Keys come from AUTH_SIGNING_KEYS (production: PEM from a secret store) or,
// when that is empty, from auth.signing_keys (development default: the first
// instance generates a key, every instance reloads the table each minute).
// Verify never touches the database on its fast path: keys are cached in
// memory.
//
// Keys and tokens are never logged.
package token

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jmoiron/sqlx"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// Defaults and fixed timings.
const (
	DefaultIssuer   = "streamflix"
	DefaultAudience = "streamflix"
	DefaultTTL      = 15 * time.Minute

	// Leeway is the clock skew tolerated on exp, nbf and iat.
	Leeway = 30 * time.Second
	// RefreshInterval is how often, in database mode, keys are reloaded so
	// that a rotation on one instance reaches the others.
	RefreshInterval = 60 * time.Second
	// missRefreshInterval limits reloads caused by an unknown kid, which
	// anyone can send.
	missRefreshInterval = 5 * time.Second
	// loadTimeout bounds one reload of the keys.
	loadTimeout = 3 * time.Second
)

// Errors returned by Verify, Rotate and RetireOld.
var (
	ErrInvalidToken = apperr.New(apperr.Unauthorized, "invalid_token", "The access token is invalid.")
	ErrTokenExpired = apperr.New(apperr.Unauthorized, "token_expired", "The access token has expired; refresh it.")
	ErrStaticKeys   = errors.New("token: signing keys come from AUTH_SIGNING_KEYS; rotate them there")
)

// Claims carried by an access token.
type Claims struct {
	UserID        string   // sub
	SessionID     string   // sid
	ProfileID     string   // pid, "" when no profile is selected
	Roles         []string // roles, nil when none
	MaturityLevel int      // mat: the profile's maturity ceiling (0 if no profile)
	Kids          bool     // kids
	// ExpiresAt and IssuedAt are set by Issue (whole seconds) and filled by
	// Verify; Issue ignores the caller's values.
	ExpiresAt, IssuedAt time.Time
}

// Config configures a Manager. Zero fields take the defaults named on them.
type Config struct {
	Issuer   string        // iss; default "streamflix"
	Audience string        // aud; default "streamflix"
	TTL      time.Duration // lifetime of a token; default 15m
	// KeysPEM is AUTH_SIGNING_KEYS: PEM-encoded PKCS#8 RSA private keys
	// (2048 bits or more). The first signs; all verify. When set, DB is not
	// used for keys.
	KeysPEM string
	// DB holds the keys in auth.signing_keys when KeysPEM is empty; the
	// first instance to start generates one.
	DB *sqlx.DB
	// Logger receives failures of background key reloads (never keys or
	// tokens); the zero value discards them.
	Logger zerolog.Logger
	// Now is the clock, for tests; default time.Now.
	Now func() time.Time
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.Audience == "" {
		c.Audience = DefaultAudience
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c Config) validate() error {
	if c.TTL < 0 {
		return fmt.Errorf("token: TTL must be positive, got %s", c.TTL)
	}
	if c.KeysPEM == "" && c.DB == nil {
		return errors.New("token: set AUTH_SIGNING_KEYS or give a database to keep the keys in")
	}
	return nil
}

// Manager issues and verifies access tokens. It is safe for concurrent use.
type Manager struct {
	cfg    Config
	parser *jwt.Parser
	set    atomic.Pointer[keySet]

	verified *verifiedCache

	// Database mode only.
	db         *sqlx.DB
	refreshing atomic.Bool  // a background reload is running
	refreshAt  atomic.Int64 // Unix nanoseconds (cfg.Now) when the next reload is due
	loadMu     sync.Mutex   // serialises reloads
	lastMiss   time.Time    // under loadMu: last reload caused by an unknown kid
}

// keySet is an immutable snapshot of the keys in use.
type keySet struct {
	keys  []*entry // newest first; keys[0] signs
	byKID map[string]*entry
	jwks  JWKS
}

type entry struct {
	key Key
	pub *rsa.PublicKey
	jwk JWK
}

func newEntry(k *rsa.PrivateKey, createdAt time.Time, retiredAt *time.Time) *entry {
	// Precompute CRT values once rather than on every signature.
	k.Precompute()
	jwk := publicJWK(&k.PublicKey)
	return &entry{
		key: Key{ID: jwk.Kid, Private: k, CreatedAt: createdAt, RetiredAt: retiredAt},
		pub: &k.PublicKey,
		jwk: jwk,
	}
}

func newKeySet(entries []*entry) *keySet {
	s := &keySet{keys: entries, byKID: make(map[string]*entry, len(entries)), jwks: JWKS{Keys: []JWK{}}}
	for i, e := range entries {
		e.key.Signing = i == 0
		s.byKID[e.key.ID] = e
		s.jwks.Keys = append(s.jwks.Keys, e.jwk)
	}
	return s
}

// New returns a Manager. With cfg.KeysPEM it uses those keys (errors name
// AUTH_SIGNING_KEYS); otherwise it loads the keys from cfg.DB, creating the
// first one if there is none (race-safe across instances).
func New(ctx context.Context, cfg Config) (*Manager, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := &Manager{
		verified: newVerifiedCache(),
		cfg:      cfg,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithLeeway(Leeway),
			jwt.WithTimeFunc(cfg.Now),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithStrictDecoding(),
		),
	}
	if cfg.KeysPEM != "" {
		keys, err := parseKeysPEM(cfg.KeysPEM)
		if err != nil {
			return nil, err
		}
		entries := make([]*entry, 0, len(keys))
		seen := map[string]bool{}
		for i, k := range keys {
			e := newEntry(k, cfg.Now(), nil)
			if seen[e.key.ID] {
				return nil, fmt.Errorf("AUTH_SIGNING_KEYS: key %d repeats an earlier key", i+1)
			}
			seen[e.key.ID] = true
			entries = append(entries, e)
		}
		m.set.Store(newKeySet(entries))
		return m, nil
	}

	m.db = cfg.DB
	err := m.load(ctx)
	if errors.Is(err, errNoKeys) {
		if _, _, err = createKey(ctx, m.db, m.now(), true, newKeyPEM); err != nil {
			return nil, err
		}
		err = m.load(ctx)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Manager) now() time.Time { return m.cfg.Now() }

// jwtClaims is the JSON form of Claims.
type jwtClaims struct {
	jwt.RegisteredClaims
	SessionID     string   `json:"sid"`
	ProfileID     string   `json:"pid,omitempty"`
	Roles         []string `json:"roles,omitempty"`
	MaturityLevel int      `json:"mat,omitempty"`
	Kids          bool     `json:"kids,omitempty"`
}

var errMissingClaim = errors.New("sub or sid missing")

// Validate is called by the parser after the registered claims check.
func (c *jwtClaims) Validate() error {
	if c.Subject == "" || c.SessionID == "" {
		return errMissingClaim
	}
	return nil
}

// Issue signs an access token for c with the current signing key and
// returns it with its expiry (now + TTL, whole seconds). c.UserID and
// c.SessionID are required.
func (m *Manager) Issue(c Claims) (token string, expiresAt time.Time, err error) {
	if c.UserID == "" || c.SessionID == "" {
		return "", time.Time{}, errors.New("issue token: UserID and SessionID are required")
	}
	signer := m.current().keys[0]
	now := m.now()
	iat := jwt.NewNumericDate(now)
	exp := jwt.NewNumericDate(now.Add(m.cfg.TTL))
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, &jwtClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    m.cfg.Issuer,
			Subject:   c.UserID,
			Audience:  jwt.ClaimStrings{m.cfg.Audience},
			ExpiresAt: exp,
			IssuedAt:  iat,
		},
		SessionID:     c.SessionID,
		ProfileID:     c.ProfileID,
		Roles:         c.Roles,
		MaturityLevel: c.MaturityLevel,
		Kids:          c.Kids,
	})
	t.Header["kid"] = signer.key.ID
	s, err := t.SignedString(signer.key.Private)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue token: %w", err)
	}
	return s, exp.Time, nil
}

// Verify checks token and returns its claims. It returns ErrTokenExpired for
// an authentic token past its expiry (with 30s leeway), and ErrInvalidToken
// for anything else wrong: malformed, bad signature, unknown kid, any alg
// but RS256 (so "none" and HS256 keyed with the public key fail), wrong
// issuer or audience, not yet valid, issued in the future, no sub or sid.
// Both are apperr Unauthorized. It reads the database only for an unknown
// kid, at most once per 5 seconds.
func (m *Manager) Verify(token string) (Claims, error) {
	if c, ok := m.verified.get(token, m.now(), m.keyLive); ok {
		return c, nil
	}
	var c jwtClaims
	parsed, err := m.parser.ParseWithClaims(token, &c, m.keyFunc)
	if err != nil {
		if isOnlyExpired(err) {
			return Claims{}, ErrTokenExpired
		}
		return Claims{}, fmt.Errorf("%w (%w)", ErrInvalidToken, err)
	}
	out := Claims{
		UserID:        c.Subject,
		SessionID:     c.SessionID,
		ProfileID:     c.ProfileID,
		Roles:         c.Roles,
		MaturityLevel: c.MaturityLevel,
		Kids:          c.Kids,
	}
	// Both are present: WithExpirationRequired and Validate's iat check.
	if c.ExpiresAt != nil {
		out.ExpiresAt = c.ExpiresAt.Time
	}
	if c.IssuedAt != nil {
		out.IssuedAt = c.IssuedAt.Time
	}
	kid, _ := parsed.Header["kid"].(string)
	m.verified.put(token, kid, out, m.now())
	return out, nil
}

// keyLive reports whether kid still verifies (not retired, not removed).
func (m *Manager) keyLive(kid string) bool {
	return m.current().byKID[kid] != nil
}

// isOnlyExpired reports whether err says the token is authentic and expired
// and nothing else is wrong with it: a token for another audience that has
// also expired is invalid, not expired. The parser checks the signature
// before the claims, so a forged token never gets here.
func isOnlyExpired(err error) bool {
	if !errors.Is(err, jwt.ErrTokenExpired) {
		return false
	}
	for _, other := range []error{
		jwt.ErrTokenInvalidAudience, jwt.ErrTokenInvalidIssuer, jwt.ErrTokenNotValidYet,
		jwt.ErrTokenUsedBeforeIssued, jwt.ErrTokenRequiredClaimMissing, jwt.ErrTokenInvalidSubject,
		errMissingClaim,
	} {
		if errors.Is(err, other) {
			return false
		}
	}
	return true
}

var (
	errWrongAlg   = errors.New("alg is not RS256")
	errNoKID      = errors.New("no kid in header")
	errUnknownKID = errors.New("unknown kid")
)

func (m *Manager) keyFunc(t *jwt.Token) (any, error) {
	// The parser already allows only RS256; this keeps a key from ever being
	// handed to another algorithm should that option be lost.
	if t.Method != jwt.SigningMethodRS256 {
		return nil, errWrongAlg
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errNoKID
	}
	if e := m.current().byKID[kid]; e != nil {
		return e.pub, nil
	}
	if e := m.reloadForKID(kid); e != nil {
		return e.pub, nil
	}
	return nil, errUnknownKID
}

// JWKS returns the public keys of every key that is not retired, signing key
// first.
func (m *Manager) JWKS() JWKS {
	return JWKS{Keys: slices.Clone(m.current().jwks.Keys)}
}

// Keys returns the keys in use, signing key first. Their private parts must
// not be logged.
func (m *Manager) Keys() []Key {
	s := m.current()
	out := make([]Key, len(s.keys))
	for i, e := range s.keys {
		out[i] = e.key
	}
	return out
}

// Rotate generates a new signing key, stores it and signs with it from now
// on; the older keys keep verifying until RetireOld retires them. Other
// instances pick the key up within RefreshInterval, or at once when they
// see a token carrying its kid. It returns ErrStaticKeys when keys come from
// AUTH_SIGNING_KEYS.
func (m *Manager) Rotate(ctx context.Context) (Key, error) {
	if m.db == nil {
		return Key{}, ErrStaticKeys
	}
	// Generated outside the transaction: it takes tens of milliseconds.
	kid, p, err := newKeyPEM()
	if err != nil {
		return Key{}, err
	}
	if _, _, err := createKey(ctx, m.db, m.now(), false, func() (string, string, error) { return kid, p, nil }); err != nil {
		return Key{}, fmt.Errorf("rotate: %w", err)
	}
	if err := m.load(ctx); err != nil {
		return Key{}, fmt.Errorf("rotate: %w", err)
	}
	e := m.current().byKID[kid]
	if e == nil {
		return Key{}, fmt.Errorf("rotate: new key %s not active after reload", kid)
	}
	return e.key, nil
}

// RetireOld retires the keys that stopped signing more than 2×TTL ago (a
// newer key replaced them then), so every token they signed has expired,
// and returns how many it retired. Retired keys leave JWKS and stop
// verifying here at once and on other instances within RefreshInterval. It
// returns ErrStaticKeys when keys come from AUTH_SIGNING_KEYS. Run it
// periodically (hourly is plenty).
func (m *Manager) RetireOld(ctx context.Context) (int, error) {
	if m.db == nil {
		return 0, ErrStaticKeys
	}
	now := m.now()
	n, err := retireOldKeys(ctx, m.db, now, now.Add(-2*m.cfg.TTL))
	if err != nil {
		return 0, err
	}
	if err := m.load(ctx); err != nil {
		return n, fmt.Errorf("retire old keys: %w", err)
	}
	return n, nil
}

// current returns the key set, and in database mode starts a background
// reload when one is due. It never waits for the database.
func (m *Manager) current() *keySet {
	if m.db != nil && m.now().UnixNano() >= m.refreshAt.Load() && m.refreshing.CompareAndSwap(false, true) {
		go m.refresh()
	}
	return m.set.Load()
}

func (m *Manager) refresh() {
	defer m.refreshing.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	if err := m.load(ctx); err != nil {
		// Keep the keys we have; try again sooner than usual.
		m.refreshAt.Store(m.now().Add(missRefreshInterval).UnixNano())
		m.cfg.Logger.Warn().Err(err).Msg("reload signing keys")
	}
}

// reloadForKID reloads the keys because a token names a kid we do not know,
// at most once per missRefreshInterval, and returns the key if it appeared.
func (m *Manager) reloadForKID(kid string) *entry {
	if m.db == nil {
		return nil
	}
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	if e := m.set.Load().byKID[kid]; e != nil {
		return e // loaded while we waited
	}
	now := m.now()
	if !m.lastMiss.IsZero() && now.Sub(m.lastMiss) < missRefreshInterval {
		return nil
	}
	m.lastMiss = now
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	if err := m.loadLocked(ctx); err != nil {
		m.cfg.Logger.Warn().Err(err).Msg("reload signing keys")
		return nil
	}
	return m.set.Load().byKID[kid]
}

var errNoKeys = errors.New("no active signing key in auth.signing_keys")

func (m *Manager) load(ctx context.Context) error {
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	return m.loadLocked(ctx)
}

// loadLocked replaces the key set with the active keys in the database. On
// error the current set stays.
func (m *Manager) loadLocked(ctx context.Context) error {
	rows, err := findActiveKeys(ctx, m.db)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return errNoKeys
	}
	old := m.set.Load()
	entries := make([]*entry, 0, len(rows))
	for _, r := range rows {
		if old != nil {
			if e := old.byKID[r.KID]; e != nil {
				// Parsed already; copy so the old snapshot stays unchanged.
				c := *e
				c.key.CreatedAt, c.key.RetiredAt = r.CreatedAt, r.RetiredAt
				entries = append(entries, &c)
				continue
			}
		}
		k, err := parseKeyPEM(r.PrivatePEM)
		if err != nil {
			return fmt.Errorf("signing key %s: %w", r.KID, err)
		}
		e := newEntry(k, r.CreatedAt, r.RetiredAt)
		if e.key.ID != r.KID {
			return fmt.Errorf("signing key %s: kid is not the thumbprint of its key", r.KID)
		}
		entries = append(entries, e)
	}
	m.set.Store(newKeySet(entries))
	m.refreshAt.Store(m.now().Add(RefreshInterval).UnixNano())
	return nil
}

// newKeyPEM generates a key and returns its kid and PKCS#8 PEM.
func newKeyPEM() (kid, privatePEM string, err error) {
	k, err := generateKey()
	if err != nil {
		return "", "", err
	}
	p, err := encodeKey(k)
	if err != nil {
		return "", "", err
	}
	return publicJWK(&k.PublicKey).Kid, p, nil
}
