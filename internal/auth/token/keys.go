package token

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// keyBits is the size of generated keys and the minimum accepted from
// AUTH_SIGNING_KEYS.
const keyBits = 2048

// Key is one signing key. Private is never logged or serialised except as
// the PEM stored in auth.signing_keys in database mode.
type Key struct {
	ID        string // kid: RFC 7638 JWK thumbprint of the public key
	Private   *rsa.PrivateKey
	Signing   bool // the newest active key signs; the others only verify
	CreatedAt time.Time
	RetiredAt *time.Time
}

// JWK is one public key of a JWKS document (RFC 7517).
type JWK struct {
	Kty string `json:"kty"` // "RSA"
	Kid string `json:"kid"`
	Use string `json:"use"` // "sig"
	Alg string `json:"alg"` // "RS256"
	N   string `json:"n"`   // modulus, base64url big-endian
	E   string `json:"e"`   // public exponent, base64url big-endian
}

// JWKS is a JSON Web Key Set document, served at /api/v1/auth/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// Thumbprint returns the kid of a key: the RFC 7638 JWK thumbprint
// (base64url SHA-256) of its public key.
func Thumbprint(pub *rsa.PublicKey) string { return publicJWK(pub).Kid }

// publicJWK returns the JWK of pub; its kid is the RFC 7638 thumbprint.
func publicJWK(pub *rsa.PublicKey) JWK {
	n := b64(pub.N.Bytes())
	e := b64(big.NewInt(int64(pub.E)).Bytes())
	// RFC 7638 §3.2: the required members only, sorted, no whitespace. n and
	// e are base64url, so they need no JSON escaping.
	sum := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	return JWK{Kty: "RSA", Kid: b64(sum[:]), Use: "sig", Alg: "RS256", N: n, E: e}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// generateKey makes a new RSA 2048 key.
func generateKey() (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	return k, nil
}

// encodeKey returns k as a PKCS#8 PEM block.
func encodeKey(k *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", fmt.Errorf("encode signing key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// parseKey decodes one PKCS#8 DER RSA private key of at least keyBits bits.
// Its errors never quote the key.
func parseKey(der []byte) (*rsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errors.New("not a PKCS#8 private key")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, want an RSA key", k)
	}
	if rk.N.BitLen() < keyBits {
		return nil, fmt.Errorf("RSA key of %d bits, want at least %d", rk.N.BitLen(), keyBits)
	}
	return rk, nil
}

// parseKeysPEM decodes the PEM blocks of AUTH_SIGNING_KEYS, in order. Errors
// name AUTH_SIGNING_KEYS and the key's position, never its contents.
func parseKeysPEM(s string) ([]*rsa.PrivateKey, error) {
	var keys []*rsa.PrivateKey
	rest := []byte(s)
	for i := 1; ; i++ {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "PRIVATE KEY" {
			return nil, fmt.Errorf("AUTH_SIGNING_KEYS: key %d: PEM block %q, want \"PRIVATE KEY\" (PKCS#8, e.g. openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048)", i, b.Type)
		}
		k, err := parseKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("AUTH_SIGNING_KEYS: key %d: %v", i, err)
		}
		keys = append(keys, k)
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, fmt.Errorf("AUTH_SIGNING_KEYS: key %d: not a PEM block", len(keys)+1)
	}
	if len(keys) == 0 {
		return nil, errors.New("AUTH_SIGNING_KEYS: no PEM-encoded key found")
	}
	return keys, nil
}

// parseKeyPEM decodes one key stored in auth.signing_keys.
func parseKeyPEM(s string) (*rsa.PrivateKey, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM-encoded PKCS#8 private key")
	}
	return parseKey(b.Bytes)
}
