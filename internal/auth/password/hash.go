// Package password hashes passwords with argon2id and checks new passwords
// against NIST SP 800-63B's rules.
//
// Hasher produces and verifies PHC strings
// ($argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>) and bounds how many hashes run
// at once, since each holds Params.Memory KiB. Check is the policy for a new
// password: length, a list of common and breached passwords shipped with the
// binary, the email's local part, and repeated or sequential characters.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2 cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// OWASP is the argon2id configuration OWASP's Password Storage Cheat Sheet
// recommends first: 19 MiB, two passes, one lane, a 16-byte salt and a
// 32-byte key. It costs about 25 ms of one core.
var OWASP = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Ceilings above which a stored hash is rejected as malformed, so that a
// tampered row cannot make Verify allocate gigabytes or spin for seconds.
const (
	maxMemory  = 1 << 20 // KiB, 1 GiB
	maxTime    = 10
	minSaltLen = 8 // argon2's minimum
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 128

	maxEncodedLen = 512 // well above the longest valid string, about 300 bytes
)

// ErrMalformedHash is wrapped by the errors Verify returns for a stored hash
// it cannot parse or refuses to compute. It is an internal error: it means a
// bad row, not a bad password.
var ErrMalformedHash = errors.New("malformed password hash")

// Hasher hashes and verifies passwords with argon2id. It is safe for
// concurrent use.
type Hasher struct {
	p     Params
	sem   chan struct{}
	dummy string
}

// NewHasher returns a Hasher with the given parameters that runs at most
// maxConcurrent hashes at once (runtime.NumCPU() when maxConcurrent <= 0);
// further calls wait, so that a login flood holds at most maxConcurrent ×
// p.Memory KiB. Zero fields of p take OWASP's values. It panics, as for a
// programming error, when p is out of range: Memory below 8 KiB per thread
// or above 1 GiB, Time above 10, SaltLen outside 8..64, KeyLen outside
// 16..128.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if p.Memory == 0 {
		p.Memory = OWASP.Memory
	}
	if p.Time == 0 {
		p.Time = OWASP.Time
	}
	if p.Threads == 0 {
		p.Threads = OWASP.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = OWASP.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = OWASP.KeyLen
	}
	if err := p.validate(); err != nil {
		panic("password.NewHasher: " + err.Error())
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.NumCPU()
	}
	h := &Hasher{p: p, sem: make(chan struct{}, maxConcurrent)}
	// The dummy needs h's parameters, not a real password: random bytes in
	// place of the key cost Verify exactly as much and can never match.
	h.dummy = encode("argon2id", p, randomBytes(p.SaltLen), randomBytes(p.KeyLen))
	return h
}

// Params returns the parameters h hashes with.
func (h *Hasher) Params() Params { return h.p }

func (p Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("invalid Params.Time %d: want 1..%d", p.Time, maxTime)
	case p.Threads < 1:
		return errors.New("invalid Params.Threads 0: want at least 1")
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("invalid Params.Memory %d KiB: want 8 KiB per thread (%d) to %d KiB", p.Memory, 8*uint32(p.Threads), maxMemory)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("invalid Params.SaltLen %d: want %d..%d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("invalid Params.KeyLen %d: want %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// Hash returns password hashed with a fresh random salt, as a PHC string. It
// returns ctx's error if ctx ends while waiting for a hashing slot.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	defer h.release()
	salt := randomBytes(h.p.SaltLen)
	key := argon2.IDKey([]byte(password), salt, h.p.Time, h.p.Memory, h.p.Threads, h.p.KeyLen)
	return encode("argon2id", h.p, salt, key), nil
}

// Verify reports whether password matches encoded, comparing keys in
// constant time. needsRehash is true only when ok and encoded was made with
// other parameters or another variant (argon2i) than h's: the caller should
// then store a fresh Hash. Verify returns an error wrapping ErrMalformedHash
// when encoded is not an argon2id or argon2i v=19 PHC string or its
// parameters pass the ceilings (m > 1 GiB, t > 10), and ctx's error if ctx
// ends while waiting for a hashing slot.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	d, err := decode(encoded)
	if err != nil {
		return false, false, fmt.Errorf("verify password: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, fmt.Errorf("verify password: %w", err)
	}
	defer h.release()
	var key []byte
	if d.variant == "argon2i" {
		key = argon2.Key([]byte(password), d.salt, d.p.Time, d.p.Memory, d.p.Threads, d.p.KeyLen)
	} else {
		key = argon2.IDKey([]byte(password), d.salt, d.p.Time, d.p.Memory, d.p.Threads, d.p.KeyLen)
	}
	if subtle.ConstantTimeCompare(key, d.key) != 1 {
		return false, false, nil
	}
	return true, d.variant != "argon2id" || d.p != h.p, nil
}

// VerifyDummy spends as long as Verify of password against a hash made with
// h's parameters and matches nothing. Call it when no account has the given
// email, so that a login's timing does not tell whether the email is
// registered. It returns early only when ctx ends while waiting for a slot.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) {
	_, _, _ = h.Verify(ctx, password, h.dummy)
}

func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	rand.Read(b) // never returns an error; it crashes the program if the OS cannot supply randomness
	return b
}

var b64 = base64.RawStdEncoding

func encode(variant string, p Params, salt, key []byte) string {
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s",
		variant, argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

type decoded struct {
	variant   string
	p         Params
	salt, key []byte
}

// decode parses a PHC string strictly: the fields in the order encode writes
// them, decimal numbers without leading zeros or signs, unpadded base64.
func decode(s string) (decoded, error) {
	var d decoded
	malformed := func(why string) (decoded, error) {
		return decoded{}, fmt.Errorf("%w: %s", ErrMalformedHash, why)
	}
	if len(s) > maxEncodedLen {
		return malformed("too long")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return malformed("want 5 $-separated fields")
	}
	d.variant = parts[1]
	if d.variant != "argon2id" && d.variant != "argon2i" {
		return malformed(fmt.Sprintf("unsupported algorithm %.20q", d.variant))
	}
	v, ok := strings.CutPrefix(parts[2], "v=")
	if !ok {
		return malformed("missing version")
	}
	if n, err := parseUint(v, 32); err != nil || n != argon2.Version {
		return malformed(fmt.Sprintf("unsupported version %.10q", v))
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return malformed("want parameters m,t,p")
	}
	var nums [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		val, ok := strings.CutPrefix(kv[i], name)
		if !ok {
			return malformed("want parameters m,t,p")
		}
		bits := 32
		if name == "p=" {
			bits = 8
		}
		n, err := parseUint(val, bits)
		if err != nil {
			return malformed(fmt.Sprintf("bad parameter %.3s", name))
		}
		nums[i] = n
	}
	d.p.Memory, d.p.Time, d.p.Threads = uint32(nums[0]), uint32(nums[1]), uint8(nums[2])
	var err error
	if d.salt, err = b64.Strict().DecodeString(parts[4]); err != nil {
		return malformed("bad salt encoding")
	}
	if d.key, err = b64.Strict().DecodeString(parts[5]); err != nil {
		return malformed("bad key encoding")
	}
	d.p.SaltLen, d.p.KeyLen = uint32(len(d.salt)), uint32(len(d.key))
	if err := d.p.validate(); err != nil {
		return malformed(err.Error())
	}
	return d, nil
}

// parseUint accepts only canonical decimal: no sign, no leading zero.
func parseUint(s string, bits int) (uint64, error) {
	if len(s) > 1 && s[0] == '0' {
		return 0, errors.New("leading zero")
	}
	return strconv.ParseUint(s, 10, bits)
}
