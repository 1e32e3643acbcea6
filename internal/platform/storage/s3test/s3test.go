// Package s3test gives tests a real S3-compatible server: versitygw with
// its posix backend.
//
// New starts one versitygw per test process on a free loopback port, over a
// directory on disk under /var/tmp (versitygw keeps object metadata in
// extended attributes, which tmpfs lacks), and gives each test a bucket of
// its own, emptied and removed when the test ends. TEST_S3_ENDPOINT (with
// TEST_S3_ACCESS_KEY, TEST_S3_SECRET_KEY) points tests at a server already
// running instead. A missing versitygw fails the test, naming the command
// that installs it; it never skips.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/streamflix/streamflix/internal/platform/storage"
)

// Install is the command that installs the server.
const Install = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Environment variables naming a server to use instead of a private one.
const (
	EnvEndpoint  = "TEST_S3_ENDPOINT"
	EnvAccessKey = "TEST_S3_ACCESS_KEY"
	EnvSecretKey = "TEST_S3_SECRET_KEY"
)

// RootDir is where private servers keep their buckets: on disk, for xattrs.
var RootDir = "/var/tmp"

var shared struct {
	once sync.Once
	srv  Server
	err  error
}

// Server is a running S3-compatible server.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
}

// New returns the options of a fresh, empty bucket on the test server.
func New(t testing.TB) storage.S3Options {
	t.Helper()
	shared.once.Do(func() {
		if ep := os.Getenv(EnvEndpoint); ep != "" {
			shared.srv = Server{Endpoint: ep, AccessKey: os.Getenv(EnvAccessKey), SecretKey: os.Getenv(EnvSecretKey)}
			return
		}
		removeStale()
		var srv *process
		srv, shared.err = start()
		if srv != nil {
			shared.srv = srv.Server
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return NewBucket(t, shared.srv)
}

// removeStale deletes the directories of shared servers of test processes
// long gone: a process's server dies with it (parent-death signal) but
// its directory stays. Each test's bucket churn keeps a live one fresh.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(RootDir, "streamflix-s3test-*"))
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > time.Hour {
			_ = os.RemoveAll(d)
		}
	}
}

// Proc is a versitygw of one test's own, which the test may stop and
// start again (same address, same buckets) to play an outage.
type Proc struct {
	Server
	t   testing.TB
	bin string
	dir string
	mu  sync.Mutex
	cur *process
}

// StartServer starts a versitygw for this test alone. It is killed, and its
// directory removed, when the test ends.
func StartServer(t testing.TB) *Proc {
	t.Helper()
	p, err := start()
	if err != nil {
		t.Fatal(err)
	}
	pr := &Proc{Server: p.Server, t: t, bin: p.bin, dir: p.dir, cur: p}
	t.Cleanup(func() {
		pr.Stop()
		_ = os.RemoveAll(pr.dir)
	})
	return pr
}

// Stop kills the server; its buckets stay on disk. Stopping a stopped
// server does nothing.
func (p *Proc) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil {
		p.cur.kill()
		p.cur = nil
	}
}

// Start starts the stopped server again on its address, over its buckets.
func (p *Proc) Start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil {
		return
	}
	host := strings.TrimPrefix(p.Endpoint, "http://")
	var err error
	for range 20 { // the port may linger a moment after the kill
		var np *process
		if np, err = launch(p.bin, host, p.dir, p.Server); err == nil {
			p.cur = np
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("s3test: restart versitygw: %v", err)
}

// NewBucket makes a bucket of its own for the test on srv, removed with
// every object in it when the test ends.
func NewBucket(t testing.TB, srv Server) storage.S3Options {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t-" + hex.EncodeToString(b[:])
	o := storage.S3Options{Endpoint: srv.Endpoint, Bucket: name, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}
	c, err := client(srv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("s3test: make bucket: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for oi := range c.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true}) {
			if oi.Err == nil {
				_ = c.RemoveObject(ctx, name, oi.Key, minio.RemoveObjectOptions{})
			}
		}
		_ = c.RemoveBucket(ctx, name)
	})
	return o
}

func client(srv Server) (*minio.Client, error) {
	host := strings.TrimPrefix(strings.TrimPrefix(srv.Endpoint, "http://"), "https://")
	return minio.New(host, &minio.Options{
		Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""), Secure: strings.HasPrefix(srv.Endpoint, "https://"),
		BucketLookup: minio.BucketLookupPath,
	})
}

type process struct {
	Server
	bin  string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	out  *bytes.Buffer
	mu   sync.Mutex
}

func (p *process) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

func start() (*process, error) {
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		gobin := filepath.Join(os.Getenv("HOME"), "go", "bin", "versitygw")
		if out, gerr := exec.Command("go", "env", "GOPATH").Output(); gerr == nil {
			gobin = filepath.Join(strings.TrimSpace(string(out)), "bin", "versitygw")
		}
		if _, serr := os.Stat(gobin); serr != nil {
			return nil, fmt.Errorf("s3test: versitygw not found in PATH or GOPATH/bin; install it with %s (scripts/deps.sh test does), or set %s", Install, EnvEndpoint)
		}
		bin = gobin
	}
	var errs []error
	for range 3 {
		p, err := startOnce(bin)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func startOnce(bin string) (*process, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp(RootDir, "streamflix-s3test-")
	if err != nil {
		return nil, fmt.Errorf("s3test: %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	srv := Server{Endpoint: "http://" + addr, AccessKey: "s3test", SecretKey: "s3test-secret-" + strconv.Itoa(port)}
	p, err := launch(bin, addr, dir, srv)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

// launch runs versitygw on addr over dir and waits until it answers.
func launch(bin, addr, dir string, srv Server) (*process, error) {
	p := &process{Server: srv, bin: bin, dir: dir, done: make(chan struct{}), out: &bytes.Buffer{}}
	p.cmd = exec.Command(bin, "--port", addr, "--quiet", "posix", dir)
	p.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+p.AccessKey, "ROOT_SECRET_KEY="+p.SecretKey)
	w := &lockedWriter{p: p}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	p.cmd.SysProcAttr = sysProcAttr()
	// The parent-death signal fires when the starting thread exits: keep
	// it locked until the child has exited.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := p.cmd.Start(); err != nil {
			started <- err
			runtime.UnlockOSThread()
			return
		}
		started <- nil
		_ = p.cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("s3test: start versitygw: %w", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(p.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return p, nil
		}
		select {
		case <-p.done:
			p.mu.Lock()
			defer p.mu.Unlock()
			return nil, fmt.Errorf("s3test: versitygw exited: %s", p.out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("s3test: versitygw on %s not ready: %w", addr, err)
		}
	}
}

type lockedWriter struct{ p *process }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if w.p.out.Len() < 16<<10 {
		w.p.out.Write(b)
	}
	return len(b), nil
}
