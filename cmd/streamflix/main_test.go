package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/config"
	"github.com/streamflix/streamflix/internal/platform/pgtest"
	"github.com/streamflix/streamflix/internal/platform/redistest"
	"github.com/streamflix/streamflix/internal/registry"
)

const testAdminToken = "test-admin-token-0123456789abcdef0123"

// instance is a whole streamflix running in-process on a free port.
type instance struct {
	*Main
	cancel context.CancelFunc
	done   chan error
}

// env returns the settings every test instance shares, over which extra wins.
func env(dbURL string, extra map[string]string) func(string) string {
	m := map[string]string{
		"DATABASE_URL":       dbURL,
		"HTTP_ADDR":          "127.0.0.1:0",
		"LOG_LEVEL":          "warn",
		"LOG_FORMAT":         "json",
		"DRAIN_DELAY":        "0s",
		"SHUTDOWN_GRACE":     "10s",
		"HEARTBEAT_INTERVAL": "200ms",
		"INSTANCE_TTL":       "1s",
		"ADMIN_TOKEN":        testAdminToken,
		"DB_MAX_OPEN_CONNS":  "8",
		"DB_MAX_IDLE_CONNS":  "4",
	}
	for k, v := range extra {
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// start opens and runs an instance; it stops at test cleanup.
func start(t *testing.T, getenv func(string) string, before func(*Main)) *instance {
	t.Helper()
	if getenv("MEDIA_DIR") == "" {
		// Media of its own, not .data/media under the package directory.
		dir, inner := t.TempDir(), getenv
		getenv = func(k string) string {
			if k == "MEDIA_DIR" {
				return dir
			}
			return inner(k)
		}
	}
	cfg, _, err := config.Load("test", nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMain(cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), "test")
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		cancel()
		m.Close()
		t.Fatal(err)
	}
	if before != nil {
		before(m)
	}
	in := &instance{Main: m, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- m.Run(ctx) }()
	t.Cleanup(func() { in.stop(t) })
	waitReady(t, m.URL())
	return in
}

// stop cancels the instance (what SIGTERM does) and waits for Run to return.
func (in *instance) stop(t *testing.T) {
	t.Helper()
	if in.cancel == nil {
		return
	}
	in.cancel()
	in.cancel = nil
	in.wait(t)
}

// wait waits for the instance's Run to return, once it has been cancelled,
// and closes it.
func (in *instance) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("instance did not stop within 30s")
	}
	in.Close()
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	c := newClient(t, base)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := c.send("GET", "/readyz", nil); err == nil && r.StatusCode == http.StatusOK {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", base)
}

func registryIDs(t *testing.T, base string) []string {
	t.Helper()
	var l registry.Listing
	newClient(t, base).as(testAdminToken).do("GET", "/api/v1/registry", nil).want("registry", http.StatusOK, "").decode(&l)
	var ids []string
	for _, in := range l.Instances {
		ids = append(ids, in.ID)
	}
	return ids
}

func TestRegistryTwoInstances(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	a := start(t, env(dbURL, nil), nil)
	b := start(t, env(dbURL, nil), nil)
	if a.Addr() == b.Addr() {
		t.Fatalf("both instances on %s", a.Addr())
	}
	aID, bID := a.Registry.Self().ID, b.Registry.Self().ID

	ids := registryIDs(t, a.URL())
	if !slices.Contains(ids, aID) || !slices.Contains(ids, bID) {
		t.Fatalf("registry lists %v, want both %s and %s", ids, aID, bID)
	}

	// The listing shows module health and the module's job kinds.
	var l registry.Listing
	newClient(t, b.URL()).as(testAdminToken).do("GET", "/api/v1/registry", nil).decode(&l)
	var sawRegistry bool
	for _, m := range l.Modules {
		if m.Name == "registry" {
			sawRegistry = m.Healthy && slices.Contains(m.JobKinds, "registry.prune_instances")
		}
	}
	if !sawRegistry {
		t.Errorf("modules %+v: want registry healthy with job kind registry.prune_instances", l.Modules)
	}

	b.stop(t)
	ids = registryIDs(t, a.URL())
	if slices.Contains(ids, bID) || !slices.Contains(ids, aID) {
		t.Fatalf("after b stopped the registry lists %v, want only %s", ids, aID)
	}
}

func TestRegistryDropsSilentInstances(t *testing.T) {
	t.Parallel()
	db, dbURL := pgtest.NewDBURL(t)
	a := start(t, env(dbURL, nil), nil)
	// An instance that crashed: its last heartbeat is older than INSTANCE_TTL.
	_, err := db.Exec(`INSERT INTO registry.instances (id, address, version, hostname, pid, started_at, heartbeat_at)
		VALUES ('crashed-1', 'x:1', 'old', 'x', 1, now() - interval '1 hour', now() - interval '10 seconds')`)
	if err != nil {
		t.Fatal(err)
	}
	if ids := registryIDs(t, a.URL()); slices.Contains(ids, "crashed-1") {
		t.Fatalf("registry lists the silent instance: %v", ids)
	}
	n, err := a.Registry.Prune(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("prune = %d, %v; want 1 row removed", n, err)
	}
}

func TestRegistryNeedsAdmin(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	a := start(t, env(dbURL, nil), nil)
	api := newClient(t, a.URL())
	api.do("GET", "/api/v1/registry", nil).want("anonymous", http.StatusUnauthorized, "unauthorized")
	api.as("wrong-token").do("GET", "/api/v1/registry", nil).want("bad token", http.StatusUnauthorized, "invalid_token")
}

func TestRateLimitAcrossInstances(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	client, prefix := redistest.New(t)
	redisURL := "redis://" + client.Options().Addr + fmt.Sprintf("/%d", client.Options().DB)
	e := env(dbURL, map[string]string{"REDIS_URL": redisURL, "REDIS_PREFIX": prefix, "RATE_LIMIT_IP": "4/m:4"})
	a := start(t, e, nil)
	b := start(t, e, nil)

	statuses := []int{}
	for i, in := range []*instance{a, b, a, b, a, b} {
		resp := newClient(t, in.URL()).do("GET", "/api/openapi.json", nil)
		statuses = append(statuses, resp.StatusCode)
		if i == 4 {
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("request %d: status %d, want 429 (4 allowed across both instances); statuses %v", i+1, resp.StatusCode, statuses)
			}
			resp.want("over the limit", http.StatusTooManyRequests, "rate_limited")
			if resp.Header.Get("Retry-After") == "" {
				t.Fatalf("429 without Retry-After: %v", resp.Header)
			}
		}
	}
	want := []int{200, 200, 200, 200, 429, 429}
	if fmt.Sprint(statuses) != fmt.Sprint(want) {
		t.Fatalf("statuses %v, want %v", statuses, want)
	}
	// Health checks are never limited.
	api := newClient(t, a.URL())
	api.do("GET", "/healthz", nil).want("healthz limited", http.StatusOK, "")
	// /readyz says Redis is the backend in use.
	if body := string(api.do("GET", "/readyz", nil).body); !strings.Contains(body, `"cache":"redis"`) || !strings.Contains(body, `"redis":"ok"`) {
		t.Fatalf("readyz: %s", body)
	}
}

func TestRunsWithoutRedis(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	a := start(t, env(dbURL, nil), nil)
	resp := newClient(t, a.URL()).do("GET", "/readyz", nil)
	if body := string(resp.body); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"cache":"memory"`) || strings.Contains(body, `"redis"`) {
		t.Fatalf("readyz: %d %s", resp.StatusCode, body)
	}
}

func TestRedisGoesAway(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	addr, stopRedis := redistest.StartServer(t)
	a := start(t, env(dbURL, map[string]string{"REDIS_URL": "redis://" + addr + "/0", "RATE_LIMIT_IP": "3/m:3"}), nil)
	api := newClient(t, a.URL())
	api.do("GET", "/api/openapi.json", nil).want("with redis", http.StatusOK, "")
	stopRedis()
	// Requests are still served, and limits still hold (in-process now).
	var statuses []int
	for i := 0; i < 4; i++ {
		statuses = append(statuses, api.do("GET", "/api/openapi.json", nil).StatusCode)
	}
	if statuses[0] != http.StatusOK || statuses[3] != http.StatusTooManyRequests {
		t.Fatalf("statuses without redis %v: want the first served and the last limited", statuses)
	}
	// Still ready (Redis is optional), but /readyz shows the Redis error.
	resp := api.do("GET", "/readyz", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(resp.body), `"redis":"error`) {
		t.Fatalf("readyz with redis down: %d %s", resp.StatusCode, resp.body)
	}
	if !strings.Contains(string(api.do("GET", "/metrics", nil).body), "streamflix_redis_errors_total") {
		t.Fatal("redis errors are not counted in /metrics")
	}
}

// TestGracefulStop cancels an instance (as SIGTERM does) while a slow
// request is in flight: /readyz turns 503, the request completes, and
// later connections are refused.
func TestGracefulStop(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	release := make(chan struct{})
	entered := make(chan struct{})
	a := start(t, env(dbURL, map[string]string{"DRAIN_DELAY": "300ms"}), func(m *Main) {
		m.Gateway.API().Handle(api.Op{Method: "GET", Path: "/test/slow", ID: "testSlow", Tag: "test", Response: map[string]string{}},
			func(w http.ResponseWriter, r *http.Request) {
				close(entered)
				<-release
				api.JSON(w, http.StatusOK, map[string]string{"done": "yes"})
			})
	})
	api := newClient(t, a.URL())
	slow := make(chan string, 1)
	go func() {
		resp, err := api.send("GET", "/api/v1/test/slow", nil)
		if err != nil {
			slow <- "error: " + err.Error()
			return
		}
		slow <- fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(resp.body)))
	}()
	<-entered
	a.cancel()
	a.cancel = nil
	// During the drain delay /readyz answers 503 "draining".
	resp := api.do("GET", "/readyz", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(resp.body), `"draining"`) {
		t.Fatalf("readyz while draining: %d %s", resp.StatusCode, resp.body)
	}
	time.Sleep(500 * time.Millisecond) // past the drain delay: the listener is closed
	if _, err := net.DialTimeout("tcp", a.Addr(), time.Second); err == nil {
		t.Error("a new connection was accepted after the drain delay")
	}
	close(release)
	if got := <-slow; got != `200 {"done":"yes"}` {
		t.Fatalf("in-flight request: %s", got)
	}
	a.wait(t)
}

// runCLI runs the binary's run function and returns its exit code and output.
func runCLI(t *testing.T, getenv func(string) string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, getenv, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestBadConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		wantVar string
	}{
		{"NoDatabase", map[string]string{}, nil, "DATABASE_URL"},
		{"BadAddr", map[string]string{"DATABASE_URL": "postgres://x@y/z", "HTTP_ADDR": "eighty"}, nil, "HTTP_ADDR"},
		{"BadDuration", map[string]string{"DATABASE_URL": "postgres://x@y/z", "REQUEST_TIMEOUT": "soon"}, nil, "REQUEST_TIMEOUT"},
		{"BadFlag", map[string]string{"DATABASE_URL": "postgres://x@y/z"}, []string{"--log-level=loud"}, "LOG_LEVEL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runCLI(t, func(k string) string { return c.env[k] }, append([]string{"serve"}, c.args...)...)
			if code == 0 {
				t.Fatal("exit code 0 for a bad config")
			}
			if !strings.Contains(stderr, c.wantVar) {
				t.Fatalf("stderr %q does not name %s", stderr, c.wantVar)
			}
		})
	}
}

func TestHelpListsEverySetting(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, func(string) string { return "" }, "serve", "--help")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, v := range []string{"DATABASE_URL", "--database-url", "REDIS_URL", "HTTP_ADDR", "LOG_LEVEL", "TRUSTED_PROXIES", "RATE_LIMIT_IP", "SHUTDOWN_GRACE"} {
		if !strings.Contains(stdout, v) {
			t.Errorf("serve --help does not list %s", v)
		}
	}
}

// buildBinary compiles streamflix once per test process.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "streamflix-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "streamflix")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serveBinary builds the streamflix binary once, runs its serve with the
// shared test settings and extra (a setting in extra wins), and waits until
// it is ready. Its output is in the returned buffer, for failures.
func serveBinary(t *testing.T, extra ...string) (*exec.Cmd, string, *bytes.Buffer) {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), append([]string{"HTTP_ADDR=" + addr, "LOG_FORMAT=json", "LOG_LEVEL=warn",
		"ADMIN_TOKEN=" + testAdminToken, "RATE_LIMIT_IP=0", "RATE_LIMIT_USER=0", "REDIS_URL=", "DRAIN_DELAY=0s",
		"MEDIA_DIR=" + t.TempDir()}, extra...)...)
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	waitReady(t, base)
	return cmd, base, logs
}

// TestSIGTERMLosesNoRequest runs the real binary, keeps a stream of
// requests going, and sends SIGTERM: every request either completes or is
// refused before a connection is accepted; the process exits 0.
func TestSIGTERMLosesNoRequest(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	cmd, base, logs := serveBinary(t, "DATABASE_URL="+dbURL, "DRAIN_DELAY=500ms", "SHUTDOWN_GRACE=10s")

	var completed, refused, lost int
	var mu sync.Mutex
	var lostErrs []string
	stopLoad := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-stopLoad:
					return
				default:
				}
				req, _ := http.NewRequest("GET", base+"/api/v1/registry", nil)
				req.Header.Set("Authorization", "Bearer "+testAdminToken)
				reused := false
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
					GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
				}))
				resp, err := client.Do(req)
				mu.Lock()
				switch {
				// A fresh connection reset before any answer was still in
				// the kernel's accept queue when the listener closed: the
				// server never accepted it, like a refused one. (Go's
				// Shutdown leaves accepted new connections alone.)
				case err != nil && !reused && errors.Is(err, syscall.ECONNRESET):
					refused++
				case err == nil:
					_, rerr := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK && rerr == nil {
						completed++
					} else {
						lost++
						lostErrs = append(lostErrs, fmt.Sprintf("status %d %v", resp.StatusCode, rerr))
					}
				case errors.Is(err, syscall.ECONNREFUSED):
					refused++
				default:
					lost++
					lostErrs = append(lostErrs, err.Error())
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Errorf("streamflix exited with %v; logs:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("streamflix did not exit within 30s of SIGTERM")
	}
	time.Sleep(200 * time.Millisecond)
	close(stopLoad)
	wg.Wait()
	t.Logf("completed %d, refused before accept %d, lost %d", completed, refused, lost)
	if completed < 10 {
		t.Errorf("only %d requests completed before SIGTERM", completed)
	}
	if refused == 0 {
		t.Errorf("no request was refused after exit: the load did not span the shutdown")
	}
	if lost != 0 {
		t.Errorf("%d requests lost: %v", lost, lostErrs[:min(5, len(lostErrs))])
	}
}

func TestBinaryBadConfigExits(t *testing.T) {
	t.Parallel()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{"DATABASE_URL=postgres://u:hunter2@localhost/x", "REDIS_URL=ftp://nope"}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit %v, want code 2; output %s", err, out)
	}
	if !strings.Contains(string(out), "REDIS_URL") {
		t.Fatalf("output %q does not name REDIS_URL", out)
	}
	if strings.Contains(string(out), "hunter2") {
		t.Fatalf("output leaks the database password: %q", out)
	}
}
