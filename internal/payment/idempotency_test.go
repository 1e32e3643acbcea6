package payment

import (
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

func TestIdempotent(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	calls := 0
	run := func(key, body string, fail error) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/api/v1/billing/checkout", strings.NewReader(body))
		if key != "" {
			req.Header.Set(IdempotencyHeader, key)
		}
		w := httptest.NewRecorder()
		tb.s.idempotent(w, req, "acct-1", func([]byte) (int, any, error) {
			calls++
			if fail != nil {
				return 0, nil, fail
			}
			return http.StatusCreated, map[string]int{"call": calls}, nil
		})
		return w
	}
	if w := run("", `{}`, nil); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "idempotency_key_required") {
		t.Fatalf("no key: %d %s", w.Code, w.Body)
	}
	first := run("k1", `{"plan":"basic"}`, nil)
	replay := run("k1", `{"plan":"basic"}`, nil)
	if first.Code != http.StatusCreated || replay.Code != http.StatusCreated || first.Body.String() != replay.Body.String() || calls != 1 {
		t.Fatalf("replay: %d %s / %d %s after %d calls", first.Code, first.Body, replay.Code, replay.Body, calls)
	}
	if replay.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatal("replay not marked")
	}
	if w := run("k1", `{"plan":"premium"}`, nil); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "idempotency_key_reused") {
		t.Fatalf("other body: %d %s", w.Code, w.Body)
	}
	// A client error is an answer too, and is replayed.
	conflict := run("k2", `{}`, ErrSubscriptionExists)
	again := run("k2", `{}`, nil)
	if conflict.Code != http.StatusConflict || again.Code != http.StatusConflict || calls != 2 {
		t.Fatalf("stored error: %d / %d after %d calls", conflict.Code, again.Code, calls)
	}
	// An internal error is not kept: the retry runs.
	run("k3", `{}`, apperr.ErrInternal)
	if w := run("k3", `{}`, nil); w.Code != http.StatusCreated || calls != 4 {
		t.Fatalf("after an internal error: %d, %d calls", w.Code, calls)
	}
	// A key held by a request still running is a conflict.
	h := sha256.Sum256([]byte("POST\x00/api/v1/billing/checkout\x00{}"))
	if _, err := tb.db.Exec(`INSERT INTO payment.idempotency_keys (account_id, key, request_hash) VALUES ('acct-1', 'k4', $1)`, h[:]); err != nil {
		t.Fatal(err)
	}
	if w := run("k4", `{}`, nil); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "idempotency_in_progress") {
		t.Fatalf("running key: %d %s", w.Code, w.Body)
	}
	// Once abandoned (older than abandonAfter), a retry takes it over.
	if _, err := tb.db.Exec(`UPDATE payment.idempotency_keys SET created_at = now() - interval '1 hour' WHERE key = 'k4'`); err != nil {
		t.Fatal(err)
	}
	if w := run("k4", `{}`, nil); w.Code != http.StatusCreated {
		t.Fatalf("abandoned key: %d %s", w.Code, w.Body)
	}
}
