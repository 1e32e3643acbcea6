package redistest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestNew(t *testing.T) {
	t.Parallel()
	checker, _ := New(t)
	var prefixes []string
	t.Run("Isolated", func(t *testing.T) {
		// Not parallel: the parent checks the cleanup after it returns.
		client1, prefix1 := New(t)
		client2, prefix2 := New(t)
		if prefix1 == prefix2 {
			t.Fatalf("two calls gave the same prefix %q", prefix1)
		}
		for _, p := range []string{prefix1, prefix2} {
			if !strings.HasPrefix(p, "test:TestNew_Isolated:") || !strings.HasSuffix(p, ":") {
				t.Errorf("prefix %q, want test:TestNew_Isolated:<id>:", p)
			}
		}
		ctx := t.Context()
		if err := client1.Set(ctx, prefix1+"k", "v", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if err := client2.Set(ctx, prefix2+"k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		prefixes = []string{prefix1, prefix2}
	})
	for _, p := range prefixes {
		n, err := checker.Exists(t.Context(), p+"k").Result()
		if err != nil || n != 0 {
			t.Errorf("key %sk after its test ended: exists %d, %v; want deleted", p, n, err)
		}
	}
}

func TestStartServer(t *testing.T) {
	t.Parallel()
	addr, stop := StartServer(t)
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("Ping = %v", err)
	}
	stop()
	if err := client.Ping(ctx).Err(); err == nil {
		t.Fatal("Ping after stop = nil, want an error")
	}
	stop() // idempotent
}

func TestStartMissingBinary(t *testing.T) {
	t.Parallel()
	_, err := startNamed("redis-server-not-installed")
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y redis-server") {
		t.Fatalf("error = %v, want one saying how to install redis-server", err)
	}
}
