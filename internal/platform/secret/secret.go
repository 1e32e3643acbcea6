// Package secret makes the opaque single-use tokens sent in links and to
// clients (email verification, password reset, refresh tokens): 256 random
// bits, URL-safe, stored only as their SHA-256.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// New returns a random URL-safe token and its hash, the only form stored.
func New() (token string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics on failure)
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, Hash(token)
}

// Hash returns the SHA-256 of token, to look a presented token up.
func Hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
