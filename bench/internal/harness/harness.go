// Package harness holds what the `make bench` commands share: a database
// of their own next to DATABASE_URL's, servers started on free ports that
// die with the bench, and medians.
package harness

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"syscall"
	"time"

	"github.com/lib/pq"

	"github.com/streamflix/streamflix/internal/platform/pg"
)

// WithDatabase is u with its database replaced by name.
func WithDatabase(u, name string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("DATABASE_URL: %w", err)
	}
	p.Path = "/" + name
	return p.String(), nil
}

// Database creates database name next to base's (a Postgres URL whose
// user may create databases) and returns its URL and a func that drops
// it. Unless keep, Ctrl-C or SIGTERM drops it too before the bench exits
// (servers started by Spawn follow the bench by their parent-death signal).
func Database(ctx context.Context, base, name string, keep bool) (string, func(), error) {
	u, err := WithDatabase(base, name)
	if err != nil {
		return "", nil, err
	}
	admin, err := pg.Open(ctx, pg.Options{URL: base, MaxOpenConns: 1, MaxIdleConns: 1})
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	drop := func() {
		defer admin.Close()
		if keep {
			return
		}
		if _, err := admin.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "bench: drop database:", err)
		}
	}
	if !keep {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-sig
			drop()
			os.Exit(130)
		}()
	}
	return u, drop, nil
}

// Spawn starts a server on a free loopback port, its output in
// tmp/name.out, and waits until path answers 200. The returned func stops
// it (SIGTERM, then SIGKILL after 5 s).
func Spawn(tmp, name, path string, cmd func(addr string) *exec.Cmd) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	out, err := os.Create(filepath.Join(tmp, name+".out"))
	if err != nil {
		return "", nil, err
	}
	c := cmd(addr)
	c.Stdout, c.Stderr = out, out
	// The server goes when the bench does, also when it is killed.
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := c.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = c.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = c.Process.Kill()
			<-done
		}
	}
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(base + path); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, stop, nil
			}
		}
	}
	stop()
	b, _ := os.ReadFile(out.Name())
	return "", nil, fmt.Errorf("%s did not answer %s: %s", name, path, Tail(string(b), 2000))
}

// Tail is the last n bytes of s.
func Tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Median is the median of xs (0 for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
