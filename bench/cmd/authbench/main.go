// Command authbench measures the identity part of `make bench`:
//
//  1. Login throughput of a running streamflix (POST /api/v1/auth/login)
//     next to raw argon2id hashing at the same parameters on the same cores,
//     measured in the same run (target: login at 0.9 or more of the raw rate).
//  2. The cost per request of the gateway's token check plus session lookup
//     (auth.Service.Authenticate), at p50 and p99, with the session state in
//     Redis and in Postgres alone, next to an unauthenticated call measured
//     the same way (target: under 30 µs added at p50).
//
// It prints results only; nothing is asserted.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/argon2"

	"github.com/streamflix/streamflix/bench/internal/harness"
	"github.com/streamflix/streamflix/internal/auth"
	"github.com/streamflix/streamflix/internal/auth/password"
	"github.com/streamflix/streamflix/internal/auth/token"
	"github.com/streamflix/streamflix/internal/platform/cache"
	"github.com/streamflix/streamflix/internal/platform/pg"
)

func main() {
	base := flag.String("url", "", "base URL of a running streamflix (login benchmark)")
	email := flag.String("email", "", "account to sign in as")
	pw := flag.String("password", "", "its password")
	seconds := flag.Duration("duration", 10*time.Second, "measured time per part")
	workers := flag.Int("workers", runtime.NumCPU()*2, "concurrent logins")
	flag.Parse()

	if *base != "" {
		loginBench(*base, *email, *pw, *seconds, *workers)
	}
	authBench(*seconds)
}

// rawHashRate hashes with argon2id at OWASP's parameters on every core for d.
func rawHashRate(d time.Duration) float64 {
	p := password.OWASP
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < runtime.NumCPU(); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			salt := make([]byte, p.SaltLen)
			for time.Now().Before(deadline) {
				argon2.IDKey([]byte("plum-kettle-orbit-92"), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

func loginBench(base, email, pw string, d time.Duration, workers int) {
	body, _ := json.Marshal(map[string]any{"email": email, "password": pw, "device": map[string]string{"name": "bench", "kind": "other"}})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 30 * time.Second}
	login := func() error {
		resp, err := client.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("login answered %d", resp.StatusCode)
		}
		return nil
	}
	if err := login(); err != nil {
		fmt.Fprintf(os.Stderr, "authbench: %v\n", err)
		os.Exit(1)
	}
	// Interleave the two so that other load on the machine hits both alike.
	const rounds = 3
	var logins, hashes []float64
	var lats []time.Duration
	for r := 0; r < rounds; r++ {
		hashes = append(hashes, rawHashRate(d/rounds))
		var n atomic.Int64
		var mu sync.Mutex
		deadline := time.Now().Add(d / rounds)
		start := time.Now()
		var wg sync.WaitGroup
		for i := 0; i < workers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					t0 := time.Now()
					if err := login(); err != nil {
						fmt.Fprintf(os.Stderr, "authbench: %v\n", err)
						return
					}
					mu.Lock()
					lats = append(lats, time.Since(t0))
					mu.Unlock()
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		logins = append(logins, float64(n.Load())/time.Since(start).Seconds())
	}
	h, l := harness.Median(hashes), harness.Median(logins)
	fmt.Printf("identity: login throughput, %d concurrent clients, %s, %d cores\n", workers, d, runtime.NumCPU())
	fmt.Printf("  %-34s %10s %10s %10s\n", "variant", "per sec", "p50", "p99")
	fmt.Printf("  %-34s %10.1f %10s %10s\n", "raw argon2id hash (m=19MiB,t=2,p=1)", h, "", "")
	fmt.Printf("  %-34s %10.1f %10s %10s\n", "POST /api/v1/auth/login", l, pct(lats, 50), pct(lats, 99))
	fmt.Printf("  ratio login / raw hash: %.2f (target 0.90 or more)\n\n", l/h)
}

func authBench(d time.Duration) {
	ctx := context.Background()
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		fmt.Println("identity: token check skipped (set DATABASE_URL to a migrated Postgres)")
		return
	}
	db, err := pg.Open(ctx, pg.Options{URL: dbURL, MaxOpenConns: 4, MaxIdleConns: 4})
	if err != nil {
		fmt.Fprintf(os.Stderr, "authbench: %v\n", err)
		os.Exit(1)
	}
	defer db.Close()
	tokens, err := token.New(ctx, token.Config{DB: db})
	if err != nil {
		fmt.Fprintf(os.Stderr, "authbench: %v\n", err)
		os.Exit(1)
	}
	// A session row to look up.
	userID, sessionID := uuid.NewString(), uuid.NewString()
	if _, err := db.ExecContext(ctx, `INSERT INTO auth.sessions (id, user_id, device_name, device_kind, ip, user_agent) VALUES ($1, $2, 'bench', 'other', '127.0.0.1', 'authbench')`, sessionID, userID); err != nil {
		fmt.Fprintf(os.Stderr, "authbench: %v\n", err)
		os.Exit(1)
	}
	defer db.ExecContext(ctx, `DELETE FROM auth.sessions WHERE id = $1`, sessionID) //nolint:errcheck
	tok, _, err := tokens.Issue(token.Claims{UserID: userID, SessionID: sessionID, Roles: []string{"viewer"}})
	if err != nil {
		fmt.Fprintf(os.Stderr, "authbench: %v\n", err)
		os.Exit(1)
	}
	type variant struct {
		name  string
		store *cache.Store
		redis bool
	}
	variants := []variant{{name: "session in Postgres (no Redis)", store: cache.NewMemory()}}
	if u := os.Getenv("REDIS_URL"); u != "" {
		opts, err := redis.ParseURL(u)
		if err == nil {
			rc := redis.NewClient(opts)
			defer rc.Close()
			variants = append(variants, variant{name: "session in Redis", store: cache.NewRedis(rc, cache.RedisOptions{Prefix: "authbench:" + uuid.NewString()[:8] + ":", Logger: zerolog.Nop()}), redis: true})
		}
	}
	// The unauthenticated baseline does what the gateway does for an
	// anonymous request: look at the header and move on.
	baseline := measure(d/4, func() {
		if h := ""; h != "" {
			panic("unreachable")
		}
	})
	fmt.Printf("identity: per-request token check + session lookup (auth.Service.Authenticate), one goroutine, %s each\n", d/2)
	fmt.Printf("  %-44s %10s %10s %12s\n", "variant", "p50", "p99", "added at p50")
	fmt.Printf("  %-44s %10s %10s %12s\n", "unauthenticated (no token)", baseline.p50, baseline.p99, "0")
	for _, v := range variants {
		svc, err := auth.New(auth.Config{PublicURL: "http://localhost:8080", CacheSessions: v.redis}, auth.Deps{DB: db, Tokens: tokens, Cache: v.store.Cache, Counter: v.store.Counter, Log: zerolog.Nop()})
		if err != nil {
			fmt.Fprintf(os.Stderr, "authbench: %v\n", err)
			os.Exit(1)
		}
		if _, err := svc.Authenticate(ctx, tok); err != nil {
			fmt.Fprintf(os.Stderr, "authbench: authenticate: %v\n", err)
			os.Exit(1)
		}
		r := measure(d/2, func() {
			if _, err := svc.Authenticate(ctx, tok); err != nil {
				panic(err)
			}
		})
		fmt.Printf("  %-44s %10s %10s %12s\n", v.name, r.p50, r.p99, (r.p50 - baseline.p50).Round(100*time.Nanosecond))
	}
	// The signature check alone, without the verified-token cache, for scale.
	fresh := measure(d/4, func() {
		t, _, _ := tokens.Issue(token.Claims{UserID: userID, SessionID: sessionID})
		_ = t
	})
	fmt.Printf("  (issuing a new token, RSA-2048 signing: p50 %s)\n", fresh.p50)
	fmt.Println("  target: under 30µs added at p50")
}

type result struct{ p50, p99 time.Duration }

func measure(d time.Duration, fn func()) result {
	var lats []time.Duration
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		t0 := time.Now()
		fn()
		lats = append(lats, time.Since(t0))
	}
	return result{p50: pctD(lats, 50), p99: pctD(lats, 99)}
}

func pctD(l []time.Duration, p int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[(len(l)-1)*p/100].Round(100 * time.Nanosecond)
}

func pct(l []time.Duration, p int) string {
	return pctD(l, p).Round(100 * time.Microsecond).String()
}
