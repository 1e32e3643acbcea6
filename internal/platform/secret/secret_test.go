package secret_test

import (
	"bytes"
	"testing"

	"github.com/streamflix/streamflix/internal/platform/secret"
)

func TestNew(t *testing.T) {
	t.Parallel()
	a, ha := secret.New()
	b, hb := secret.New()
	if a == b || bytes.Equal(ha, hb) {
		t.Fatal("two tokens are equal")
	}
	if len(a) != 43 {
		t.Fatalf("token %q is %d characters, want 43 (256 bits, base64url)", a, len(a))
	}
	if !bytes.Equal(secret.Hash(a), ha) {
		t.Fatal("Hash does not match the hash New returned")
	}
}
