package password

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// cheap keeps tests fast; OWASP is used only where the test is about it.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type testBundle struct {
	ctx   context.Context
	owasp *Hasher
	cheap *Hasher
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	return &testBundle{ctx: t.Context(), owasp: NewHasher(OWASP, 0), cheap: NewHasher(cheap, 0)}
}

func TestHasher(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		enc := hash(t, b.owasp, "correct horse battery staple")
		const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
		if !strings.HasPrefix(enc, prefix) {
			t.Fatalf("Hash = %q, want prefix %q", enc, prefix)
		}
		// 16-byte salt and 32-byte key in unpadded base64.
		if rest := strings.Split(strings.TrimPrefix(enc, prefix), "$"); len(rest) != 2 || len(rest[0]) != 22 || len(rest[1]) != 43 {
			t.Fatalf("Hash = %q, want 22-char salt and 43-char key", enc)
		}
		ok, rehash, err := b.owasp.Verify(b.ctx, "correct horse battery staple", enc)
		if err != nil || !ok || rehash {
			t.Fatalf("Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
		}
	})

	t.Run("SaltIsRandom", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		a, _ := b.cheap.Hash(b.ctx, "same password")
		c, _ := b.cheap.Hash(b.ctx, "same password")
		if a == c {
			t.Fatalf("two hashes of one password are equal: %q", a)
		}
	})

	t.Run("WrongPassword", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		enc := hash(t, b.cheap, "correct horse battery staple")
		for _, pw := range []string{"", "correct horse battery stapl", "Correct horse battery staple", "correct horse battery staple "} {
			ok, rehash, err := b.cheap.Verify(b.ctx, pw, enc)
			if err != nil || ok || rehash {
				t.Errorf("Verify(%q) = %v, %v, %v; want false, false, nil", pw, ok, rehash, err)
			}
		}
	})

	t.Run("NeedsRehash", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, tc := range []struct {
			name string
			p    Params
		}{
			{"Memory", Params{Memory: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}},
			{"Time", Params{Memory: 19456, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
			{"Threads", Params{Memory: 64, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}},
			{"SaltLen", Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 32}},
			{"KeyLen", Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 16}},
		} {
			enc := hash(t, NewHasher(tc.p, 1), "s3cret passphrase")
			ok, rehash, err := b.owasp.Verify(b.ctx, "s3cret passphrase", enc)
			if err != nil || !ok || !rehash {
				t.Errorf("%s: Verify = %v, %v, %v; want true, true, nil", tc.name, ok, rehash, err)
			}
			ok, rehash, err = b.owasp.Verify(b.ctx, "wrong passphrase", enc)
			if err != nil || ok || rehash {
				t.Errorf("%s: Verify(wrong) = %v, %v, %v; want false, false, nil", tc.name, ok, rehash, err)
			}
		}
	})

	t.Run("NeedsRehashArgon2i", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		salt := []byte("0123456789abcdef")
		enc := encode("argon2i", cheap, salt, argon2.Key([]byte("s3cret passphrase"), salt, cheap.Time, cheap.Memory, cheap.Threads, cheap.KeyLen))
		ok, rehash, err := b.cheap.Verify(b.ctx, "s3cret passphrase", enc)
		if err != nil || !ok || !rehash {
			t.Fatalf("Verify(argon2i) = %v, %v, %v; want true, true, nil", ok, rehash, err)
		}
	})

	t.Run("ErrMalformedHash", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		const salt, key = "MDEyMzQ1Njc4OWFiY2RlZg", "3ZC9Iqcfd0CUzcVhaZIcIUTfqAPCi5FdWhiD+XxATBk"
		for _, enc := range []string{
			"",
			"password",
			"$",
			"$$$$$",
			"$argon2id$v=19$m=19456,t=2,p=1$" + salt,
			"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$",
			"argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
			"$argon2d$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
			"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
			"$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
			"$argon2id$m=19456,t=2,p=1$" + salt + "$" + key + "$x",
			"$argon2id$v=19$m=19456,t=2$" + salt + "$" + key,
			"$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key,
			"$argon2id$v=19$m=19456,t=2,p=1,k=1$" + salt + "$" + key,
			"$argon2id$v=19$m=019456,t=2,p=1$" + salt + "$" + key,
			"$argon2id$v=19$m=+19456,t=2,p=1$" + salt + "$" + key,
			"$argon2id$v=19$m=-1,t=2,p=1$" + salt + "$" + key,
			"$argon2id$v=19$m=99999999999,t=2,p=1$" + salt + "$" + key,
			"$argon2id$v=19$m=1048577,t=2,p=1$" + salt + "$" + key, // 1 GiB + 1 KiB
			"$argon2id$v=19$m=19456,t=11,p=1$" + salt + "$" + key,
			"$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key,
			"$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
			"$argon2id$v=19$m=19456,t=2,p=256$" + salt + "$" + key,
			"$argon2id$v=19$m=7,t=2,p=1$" + salt + "$" + key,
			"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key,
			"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "=",
			"$argon2id$v=19$m=19456,t=2,p=1$not*base64$" + key,
			"$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Ng$" + key,        // 7-byte salt
			"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$MDEyMzQ1Njc", // 8-byte key
			"$argon2id$v=19$m=19456,t=2,p=1$" + strings.Repeat("A", 600) + "$" + key,
		} {
			ok, rehash, err := b.owasp.Verify(b.ctx, "password", enc)
			if !errors.Is(err, ErrMalformedHash) || ok || rehash {
				t.Errorf("Verify(%.60q) = %v, %v, %v; want ErrMalformedHash", enc, ok, rehash, err)
			}
		}
	})

	t.Run("VerifyDummy", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.owasp.VerifyDummy(b.ctx, "any password")
		// It costs what a real Verify costs because the dummy carries h's
		// parameters and goes through Verify itself.
		d, err := decode(b.owasp.dummy)
		if err != nil || d.variant != "argon2id" || d.p != OWASP {
			t.Fatalf("dummy decodes to %+v, %v; want argon2id with OWASP params", d.p, err)
		}
		if ok, _, err := b.cheap.Verify(b.ctx, "", b.cheap.dummy); ok || err != nil {
			t.Fatalf("Verify(dummy) = %v, %v; want false, nil", ok, err)
		}
	})

	t.Run("ContextWhileWaiting", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h := NewHasher(cheap, 1)
		enc := hash(t, h, "s3cret passphrase")
		h.sem <- struct{}{} // every slot busy

		ctx, cancel := context.WithCancel(b.ctx)
		errc := make(chan error, 2)
		go func() { _, err := h.Hash(ctx, "s3cret passphrase"); errc <- err }()
		go func() { _, _, err := h.Verify(ctx, "s3cret passphrase", enc); errc <- err }()
		cancel()
		for range 2 {
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		}
		h.VerifyDummy(ctx, "x") // returns at once on a cancelled ctx

		<-h.sem // a slot frees up
		if ok, _, err := h.Verify(b.ctx, "s3cret passphrase", enc); !ok || err != nil {
			t.Fatalf("Verify after release = %v, %v; want true, nil", ok, err)
		}
	})

	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		h := NewHasher(Params{}, 0)
		if h.Params() != OWASP {
			t.Errorf("Params() = %+v, want OWASP %+v", h.Params(), OWASP)
		}
		if cap(h.sem) != runtime.NumCPU() {
			t.Errorf("concurrency = %d, want NumCPU %d", cap(h.sem), runtime.NumCPU())
		}
		if got := NewHasher(Params{Time: 3}, 4).Params(); got.Time != 3 || got.Memory != OWASP.Memory {
			t.Errorf("Params() = %+v, want OWASP with Time 3", got)
		}
	})

	t.Run("InvalidParamsPanic", func(t *testing.T) {
		t.Parallel()
		for _, p := range []Params{
			{Time: 11},
			{Memory: 1<<20 + 1},
			{Memory: 8, Threads: 2},
			{SaltLen: 4},
			{KeyLen: 8},
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("NewHasher(%+v) did not panic", p)
					}
				}()
				NewHasher(p, 1)
			}()
		}
	})
}

// hash is h.Hash(pw), failing the test on an error.
func hash(t *testing.T, h *Hasher, pw string) string {
	t.Helper()
	enc, err := h.Hash(t.Context(), pw)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}
