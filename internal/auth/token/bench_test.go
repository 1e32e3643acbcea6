package token_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/streamflix/streamflix/internal/auth/token"
)

// rsaFloor is the cost of the RSA-2048 signature check alone, the part of
// Verify no JWT code can avoid, measured once per run as the baseline.
var (
	rsaFloorOnce sync.Once
	rsaFloorNs   float64
)

func rsaFloor(b *testing.B) float64 {
	rsaFloorOnce.Do(func() { rsaFloorNs = measureRSAFloor(testKey(b, 0)) })
	return rsaFloorNs
}

func measureRSAFloor(k *rsa.PrivateKey) float64 {
	msg := []byte("header.payload")
	sum := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	// testing.Benchmark cannot run inside a benchmark; time enough rounds
	// by hand (tens of milliseconds).
	const n = 2000
	start := time.Now()
	for range n {
		s := sha256.Sum256(msg)
		if err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, s[:], sig); err != nil {
			panic(err)
		}
	}
	return float64(time.Since(start).Nanoseconds()) / n
}

// BenchmarkVerify measures Manager.Verify on a valid token (no database:
// keys are in memory) and reports its ratio to the bare RSA check.
func BenchmarkVerify(b *testing.B) {
	m := static(b, token.Config{}, 0)
	tok, _, err := m.Issue(sampleClaims())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	floor := rsaFloor(b)
	b.ReportMetric(floor, "rsa-floor-ns")
	b.ReportMetric(ns/floor, "x-rsa-floor")
}

// BenchmarkVerifyParallel is Verify on every core at once.
func BenchmarkVerifyParallel(b *testing.B) {
	m := static(b, token.Config{}, 0)
	tok, _, err := m.Issue(sampleClaims())
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Verify(tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkIssue measures signing an access token (RSA-2048 private key).
func BenchmarkIssue(b *testing.B) {
	m := static(b, token.Config{}, 0)
	c := sampleClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := m.Issue(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyAlg compares the verification cost of the asymmetric
// algorithms golang-jwt offers, on the same claims, to check the choice of
// RS256.
func BenchmarkVerifyAlg(b *testing.B) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	claims := jwt.MapClaims{"sub": "u", "sid": "s", "aud": "streamflix", "iss": "streamflix", "exp": 4102444800, "iat": 1700000000}
	for _, alg := range []struct {
		name   string
		method jwt.SigningMethod
		priv   any
		pub    any
	}{
		{"RS256", jwt.SigningMethodRS256, testKey(b, 0), &testKey(b, 0).PublicKey},
		{"ES256", jwt.SigningMethodES256, ecKey, &ecKey.PublicKey},
		{"EdDSA", jwt.SigningMethodEdDSA, edKey, edKey.Public()},
	} {
		tok, err := jwt.NewWithClaims(alg.method, claims).SignedString(alg.priv)
		if err != nil {
			b.Fatal(err)
		}
		p := jwt.NewParser(jwt.WithValidMethods([]string{alg.method.Alg()}))
		b.Run(alg.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := p.Parse(tok, func(*jwt.Token) (any, error) { return alg.pub, nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
