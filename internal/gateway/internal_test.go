package gateway

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// The security headers are assigned to the header map directly, so their
// keys must already be in canonical form or Header.Get would miss them.
func TestSecurityHeaderKeysCanonical(t *testing.T) {
	t.Parallel()
	for _, sh := range securityHeaderValues {
		if got := http.CanonicalHeaderKey(sh.key); got != sh.key {
			t.Errorf("key %q is not canonical; want %q", sh.key, got)
		}
		if len(sh.val) != 1 || cap(sh.val) != 1 {
			t.Errorf("%s: len %d cap %d, want 1 and 1 so that Add copies", sh.key, len(sh.val), cap(sh.val))
		}
	}
}

// saneRequestID accepts exactly what nginx's pattern does.
func TestSaneRequestID(t *testing.T) {
	t.Parallel()
	nginx := regexp.MustCompile(`^[A-Za-z0-9._:\-]{8,128}$`)
	ids := []string{
		"", "abc", "abcdefg", "abcdefgh", "req-0123456789abcdef", "trace:1.2_3-abc",
		"has some spaces", "abcdefgh\nX-Evil: 1", "<script>alert(1)</script>", "ünïcödé-id",
		strings.Repeat("a", 128), strings.Repeat("a", 129), newID(),
	}
	for c := 0; c < 256; c++ {
		ids = append(ids, "abcdefg"+string(rune(c)), "abcdefg"+string([]byte{byte(c)}))
	}
	for _, id := range ids {
		if got, want := saneRequestID(id), nginx.MatchString(id); got != want {
			t.Errorf("saneRequestID(%q) = %v, want %v", id, got, want)
		}
	}
	if !saneRequestID(newID()) {
		t.Error("a generated id is not sane")
	}
}
