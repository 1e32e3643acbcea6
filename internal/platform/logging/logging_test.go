package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/logging"
)

// lockedBuffer is a log destination safe for concurrent writes that counts
// the writes it receives.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newBuffer is a Buffer over a lockedBuffer, flushing after at most every,
// and closed when t ends.
func newBuffer(t *testing.T, every time.Duration) (*lockedBuffer, *logging.Buffer) {
	t.Helper()
	out := &lockedBuffer{}
	buf := logging.NewBuffer(out, every)
	t.Cleanup(func() { _ = buf.Close() })
	return out, buf
}

func (l *lockedBuffer) Writes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writes
}

// scopeCtx is a context that carries a Scope in one value, as the gateway's
// request state does.
type scopeCtx struct {
	context.Context
	scope logging.Scope
}

func (c *scopeCtx) Value(key any) any {
	if v, ok := c.scope.Value(key); ok {
		return v
	}
	return c.Context.Value(key)
}

type otherKey struct{}

func lines(t *testing.T, raw string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(raw), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %q", err, l)
		}
		out = append(out, m)
	}
	return out
}

func TestScope(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	base := zerolog.New(&out)
	parent := context.WithValue(t.Context(), otherKey{}, "kept")
	ctx := &scopeCtx{Context: parent}
	ctx.scope.Init("req-0123456789", &base)

	if got := logging.RequestID(ctx); got != "req-0123456789" {
		t.Errorf("RequestID = %q", got)
	}
	if got := ctx.Value(otherKey{}); got != "kept" {
		t.Errorf("parent's value = %v, want kept", got)
	}
	// A child context, as handlers see it, still finds both.
	child, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	// Handlers log through zerolog.Ctx, the platform through logging.Ctx;
	// both get the one logger with request_id, concurrently too.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if i%2 == 0 {
				zerolog.Ctx(child).Info().Int("n", i).Msg("from handler")
			} else {
				logging.Ctx(child).Info().Int("n", i).Msg("from platform")
			}
		})
	}
	wg.Wait()
	if zerolog.Ctx(child) != logging.Ctx(ctx) {
		t.Error("zerolog.Ctx returns a different logger each time; want one per request")
	}
	got := lines(t, out.String())
	if len(got) != 8 {
		t.Fatalf("%d lines, want 8:\n%s", len(got), out.String())
	}
	for _, l := range got {
		if l["request_id"] != "req-0123456789" {
			t.Errorf("line without the request id: %v", l)
		}
	}

	// Fields a handler adds stay for the rest of the request.
	zerolog.Ctx(child).UpdateContext(func(c zerolog.Context) zerolog.Context { return c.Str("title", "t1") })
	zerolog.Ctx(ctx).Info().Msg("later")
	if !strings.Contains(out.String(), `"title":"t1"`) {
		t.Errorf("field added with UpdateContext lost:\n%s", out.String())
	}

	t.Run("NotInitialized", func(t *testing.T) {
		t.Parallel()
		ctx := &scopeCtx{Context: t.Context()}
		if got := logging.RequestID(ctx); got != "" {
			t.Errorf("RequestID = %q, want none", got)
		}
		if l := zerolog.Ctx(ctx); l.GetLevel() != zerolog.Disabled {
			t.Errorf("zerolog.Ctx level = %v, want the disabled logger", l.GetLevel())
		}
	})
}

func TestBuffer(t *testing.T) {
	t.Parallel()

	t.Run("HoldsInfoUntilWarn", func(t *testing.T) {
		t.Parallel()
		out, buf := newBuffer(t, time.Hour)
		log := zerolog.New(buf)
		for i := range 3 {
			log.Info().Int("n", i).Msg("request")
		}
		if out.Writes() != 0 {
			t.Fatalf("info lines written at once:\n%s", out.String())
		}
		log.Warn().Msg("slow")
		got := lines(t, out.String())
		if len(got) != 4 || got[3]["message"] != "slow" || got[0]["n"] != float64(0) {
			t.Fatalf("after a warning: %v; want the 3 held lines, then the warning", got)
		}
		if out.Writes() != 2 {
			t.Errorf("%d writes, want 2 (the held lines together, then the warning)", out.Writes())
		}
	})

	t.Run("FlushesByItself", func(t *testing.T) {
		t.Parallel()
		out, buf := newBuffer(t, 10*time.Millisecond)
		log := zerolog.New(buf)
		log.Info().Msg("request")
		deadline := time.Now().Add(5 * time.Second)
		for out.Writes() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("held line never written")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if got := lines(t, out.String()); len(got) != 1 {
			t.Errorf("lines = %v, want 1", got)
		}
	})

	t.Run("FlushesWhenFull", func(t *testing.T) {
		t.Parallel()
		out, buf := newBuffer(t, time.Hour)
		log := zerolog.New(buf)
		pad := strings.Repeat("x", 1000)
		for range 100 {
			log.Info().Str("pad", pad).Msg("request")
		}
		if out.Writes() == 0 {
			t.Fatal("100 KB held; want writes once 32 KiB are held")
		}
		if err := buf.Flush(); err != nil {
			t.Fatal(err)
		}
		if got := lines(t, out.String()); len(got) != 100 {
			t.Errorf("%d lines after Flush, want 100", len(got))
		}
	})

	t.Run("Close", func(t *testing.T) {
		t.Parallel()
		var out lockedBuffer
		buf := logging.NewBuffer(&out, time.Hour)
		log := zerolog.New(buf)
		log.Info().Msg("before")
		if err := buf.Close(); err != nil {
			t.Fatal(err)
		}
		if got := lines(t, out.String()); len(got) != 1 {
			t.Fatalf("after Close: %v, want the held line", got)
		}
		log.Info().Msg("after")
		if got := lines(t, out.String()); len(got) != 2 {
			t.Errorf("line logged after Close: %v, want it written at once", got)
		}
	})

	t.Run("Pretty", func(t *testing.T) {
		t.Parallel()
		out, buf := newBuffer(t, time.Hour)
		log := logging.New(buf, "info", "pretty")
		log.Info().Msg("hello")
		if !strings.Contains(out.String(), "hello") {
			t.Errorf("pretty line held; want it written at once: %q", out.String())
		}
	})
}
