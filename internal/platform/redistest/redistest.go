// Package redistest gives tests a real Redis.
//
// New finds the server through TEST_REDIS_URL (for example
// redis://localhost:6379/0) or, when it is unset, starts one private
// redis-server per test process on a free loopback port. Each test gets its
// own key prefix, so tests running in parallel, in different packages, on one
// server never collide. A missing redis-server fails the test; it never skips.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvURL names the environment variable with the URL of a Redis server to use
// instead of a private one.
const EnvURL = "TEST_REDIS_URL"

// startTimeout bounds how long a private redis-server may take to answer.
const startTimeout = 10 * time.Second

var shared struct {
	once sync.Once
	opts func() (*redis.Options, error) // fresh options for each client
	err  error
}

// New returns a client on the test Redis server and a key prefix unique to
// this test, ending in ":". The client is closed, and keys under the prefix
// are deleted, when the test ends. New fails the test if TEST_REDIS_URL is
// invalid or if the private server cannot start, for instance because
// redis-server is not installed.
func New(t testing.TB) (*redis.Client, string) {
	t.Helper()
	shared.once.Do(func() {
		if url := os.Getenv(EnvURL); url != "" {
			if _, err := redis.ParseURL(url); err != nil {
				shared.err = fmt.Errorf("redistest: %s: %w", EnvURL, err)
				return
			}
			shared.opts = func() (*redis.Options, error) { return redis.ParseURL(url) }
			return
		}
		// The shared server lives as long as the test process: the kernel
		// kills it when the process exits (see start).
		srv, err := start()
		if err != nil {
			shared.err = err
			return
		}
		// redis-server writes nothing to its directory with these flags.
		_ = os.RemoveAll(srv.dir)
		shared.opts = func() (*redis.Options, error) { return &redis.Options{Addr: srv.addr}, nil }
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	opts, err := shared.opts()
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	prefix := "test:" + testName(t) + ":" + randomID() + ":"
	t.Cleanup(func() {
		if err := deletePrefix(client, prefix); err != nil {
			t.Logf("redistest: delete keys %s*: %v", prefix, err)
		}
		_ = client.Close()
	})
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redistest: ping %s: %v", opts.Addr, err)
	}
	return client, prefix
}

// StartServer starts a redis-server for this test alone, for tests that stop
// Redis while running, and returns its address. stop kills the server and
// waits for it to exit; it may be called more than once and is also called
// when the test ends. StartServer fails the test if the server cannot start,
// for instance because redis-server is not installed.
func StartServer(t testing.TB) (addr string, stop func()) {
	t.Helper()
	srv, err := start()
	if err != nil {
		t.Fatal(err)
	}
	stop = sync.OnceFunc(srv.stop)
	t.Cleanup(stop)
	return srv.addr, stop
}

type server struct {
	addr string
	dir  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	out  *limitedBuffer
}

func (s *server) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
	<-s.done
	_ = os.RemoveAll(s.dir)
}

// start starts a private redis-server and waits until it answers PING.
// Another process may take the free port before redis-server binds it, so
// start retries a few times.
func start() (*server, error) { return startNamed("redis-server") }

func startNamed(name string) (*server, error) {
	bin, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("redistest: %s not found in PATH; install it (apt-get install -y redis-server) or set %s", name, EnvURL)
	}
	var errs []error
	for range 3 {
		srv, err := startOnce(bin)
		if err == nil {
			return srv, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func startOnce(bin string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, fmt.Errorf("redistest: %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	srv := &server{
		addr: addr,
		dir:  dir,
		done: make(chan struct{}),
		out:  &limitedBuffer{max: 16 << 10},
		cmd: exec.Command(bin,
			"--port", strconv.Itoa(port),
			"--bind", "127.0.0.1",
			"--save", "",
			"--appendonly", "no",
			"--dir", dir,
		),
	}
	srv.cmd.Stdout = srv.out
	srv.cmd.Stderr = srv.out
	srv.cmd.SysProcAttr = sysProcAttr()

	// The parent-death signal fires when the thread that started the child
	// exits, and the Go runtime ends threads whose goroutine locked them. So
	// start the child from a goroutine that keeps its thread locked until the
	// child has exited.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := srv.cmd.Start(); err != nil {
			started <- err
			runtime.UnlockOSThread()
			return
		}
		started <- nil
		_ = srv.cmd.Wait()
		close(srv.done)
	}()
	if err := <-started; err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("redistest: start redis-server: %w", err)
	}
	if err := waitReady(srv); err != nil {
		srv.stop()
		return nil, fmt.Errorf("redistest: redis-server on %s: %w\n%s", addr, err, srv.out)
	}
	return srv, nil
}

func waitReady(srv *server) error {
	client := redis.NewClient(&redis.Options{
		Addr:          srv.addr,
		DialTimeout:   time.Second,
		MaxRetries:    -1,
		DialerRetries: 1,
	})
	defer client.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-srv.done:
			return fmt.Errorf("exited: %w", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", startTimeout, err)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("redistest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// deletePrefix deletes the keys under prefix, which holds no glob
// metacharacters (see testName).
func deletePrefix(client *redis.Client, prefix string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return err
	}
	for chunk := range slices.Chunk(keys, 500) {
		if err := client.Unlink(ctx, chunk...).Err(); err != nil {
			return err
		}
	}
	return nil
}

// testName returns t.Name() shortened to safe characters, for readable keys.
func testName(t testing.TB) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '_'
	}, t.Name())
	if len(name) > 48 {
		name = name[:48]
	}
	return name
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// limitedBuffer keeps the first max bytes written to it, for error messages.
type limitedBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
