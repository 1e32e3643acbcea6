package token

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedCache remembers tokens whose signature was checked, so the RSA
// verification (about 30–70 µs here) runs once per token rather than once
// per request: a client sends the same access token for its whole life.
// Entries are keyed by the SHA-256 of the whole token, so only the exact
// bytes that were verified hit. A hit re-checks expiry and that the signing
// key is still in use.
type verifiedCache struct {
	mu      sync.RWMutex
	entries map[[32]byte]cachedClaims
	max     int
}

type cachedClaims struct {
	claims Claims
	kid    string
}

// maxCached bounds memory: about 200 bytes an entry, so 20 MB at most.
const maxCached = 100_000

func newVerifiedCache() *verifiedCache {
	return &verifiedCache{entries: make(map[[32]byte]cachedClaims), max: maxCached}
}

func (c *verifiedCache) get(token string, now time.Time, live func(kid string) bool) (Claims, bool) {
	k := sha256.Sum256([]byte(token))
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	if !ok {
		return Claims{}, false
	}
	if !now.Before(e.claims.ExpiresAt.Add(Leeway)) || !live(e.kid) {
		c.mu.Lock()
		delete(c.entries, k)
		c.mu.Unlock()
		return Claims{}, false
	}
	return e.claims, true
}

func (c *verifiedCache) put(token, kid string, claims Claims, now time.Time) {
	k := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Drop the expired; if that is not enough, start over. Either way
		// the cost is one pass per max insertions.
		for key, e := range c.entries {
			if !now.Before(e.claims.ExpiresAt.Add(Leeway)) {
				delete(c.entries, key)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[k] = cachedClaims{claims: claims, kid: kid}
}
