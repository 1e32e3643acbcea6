package password

import (
	"context"
	"testing"

	"golang.org/x/crypto/argon2"
)

// BenchmarkHash is the baseline: argon2id alone at OWASP's parameters.
func BenchmarkHash(b *testing.B) {
	pw, salt := []byte("correct horse battery staple"), make([]byte, OWASP.SaltLen)
	for b.Loop() {
		argon2.IDKey(pw, salt, OWASP.Time, OWASP.Memory, OWASP.Threads, OWASP.KeyLen)
	}
}

// BenchmarkHasherHash adds the salt, the semaphore and the encoding.
func BenchmarkHasherHash(b *testing.B) {
	h, ctx := NewHasher(OWASP, 0), context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHasherHashParallel runs Hash from GOMAXPROCS goroutines, all
// sharing one Hasher; its ns/op is wall time per hash across them.
func BenchmarkHasherHashParallel(b *testing.B) {
	h, ctx := NewHasher(OWASP, 0), context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCheck measures the policy with the list already loaded.
func BenchmarkCheck(b *testing.B) {
	loadCommon()
	for b.Loop() {
		_ = Check("password", "violet tram whistles", "alice@example.com")
	}
}
