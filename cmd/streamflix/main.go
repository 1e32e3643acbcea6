// Command streamflix is the whole platform in one binary.
//
//	streamflix serve              serve HTTP and work queued jobs
//	streamflix migrate up         apply every module's migrations and River's
//	streamflix migrate down M [N] roll back N (default 1) migrations of module M
//	streamflix migrate down --all roll back everything
//	streamflix migrate status     list where each module's migrations stand
//	streamflix catalog import F   import a catalog file; catalog export writes one
//	streamflix seed --demo        load the demo catalog; seed --scale N generates N titles
//	streamflix version            print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/streamflix/streamflix/internal/platform/config"
	"github.com/streamflix/streamflix/internal/platform/logging"
	"github.com/streamflix/streamflix/internal/platform/migrate"
	"github.com/streamflix/streamflix/internal/platform/pg"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

// Version returns the build's version: the -X value, else the VCS revision.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			return rev[:12] + dirty
		}
	}
	return "dev"
}

const usage = `streamflix: a self-hostable video streaming platform.

Usage:
  streamflix serve [flags]              serve HTTP and work queued jobs
  streamflix migrate up                 apply all pending migrations (modules and River)
  streamflix migrate down MODULE [N]    roll back N migrations (default 1) of MODULE
  streamflix migrate down --all         roll back every migration
  streamflix migrate status             show each module's migration version
  streamflix admin create-user --email EMAIL [--admin] [--password-stdin]
                                        create a verified account (prints a generated password
                                        unless one is read from standard input)
  streamflix catalog import [--dry-run] FILE|-
                                        import a catalog file (- reads standard input)
  streamflix catalog export [--output FILE]
                                        write the whole catalog as a catalog file
  streamflix seed --demo [--if-empty]   load the demo catalog (public-domain classics), published
  streamflix seed --scale N [--seed S]  generate N published titles for load tests
  streamflix billing advance DURATION   move the sandbox's test clock (31d, 36h) and run due renewals
  streamflix reco train                 retrain the recommendation model now
  streamflix reco eval --ratings FILE   evaluate every recommendation model offline (see streamflix reco)
  streamflix video import FILE --title KEY [--season N --episode N] [--language L]
                                        ingest a video file through the upload pipeline
  streamflix version                    print the version

`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		config.Usage(stdout, "streamflix serve")
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, Version())
		return 0
	case "serve":
		cfg, _, code := loadConfig("streamflix serve", rest, getenv, stdout, stderr)
		if cfg == nil {
			return code
		}
		return serve(ctx, cfg, stderr)
	case "migrate":
		return migrateCmd(ctx, rest, getenv, stdout, stderr)
	case "admin":
		return adminCmd(ctx, rest, getenv, os.Stdin, stdout, stderr)
	case "catalog":
		return catalogCmd(ctx, rest, getenv, os.Stdin, stdout, stderr)
	case "seed":
		return seedCmd(ctx, rest, getenv, stdout, stderr)
	case "billing":
		return billingCmd(ctx, rest, getenv, stdout, stderr)
	case "reco":
		return recoCmd(ctx, rest, getenv, stdout, stderr)
	case "video":
		return videoCmd(ctx, rest, getenv, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "streamflix: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

// loadConfig reads the config; on failure it prints why and returns the exit code.
func loadConfig(name string, args []string, getenv func(string) string, stdout, stderr io.Writer) (*config.Config, []string, int) {
	cfg, rest, err := config.Load(name, args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil, nil, 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "streamflix: bad configuration: %v\n", err)
		return nil, nil, 2
	}
	return cfg, rest, 0
}

func serve(ctx context.Context, cfg *config.Config, stderr io.Writer) int {
	// Info lines are written in batches (at most 100ms late); warnings and
	// errors flush at once. Close flushes on every way out of serve.
	logBuf := logging.NewBuffer(os.Stdout, 0)
	defer logBuf.Close()
	log := logging.New(logBuf, cfg.LogLevel, cfg.LogFormat)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	m := NewMain(cfg, log, Version())
	if err := m.Open(ctx); err != nil {
		log.Error().Err(err).Msg("start failed")
		m.Close()
		return 1
	}
	log.Info().Str("addr", m.Addr()).Str("instance", m.Registry.Self().ID).Str("version", Version()).
		Str("cache", m.Store.Backend).Msg("streamflix serving")
	err := m.Run(ctx)
	m.Close()
	if err != nil {
		log.Error().Err(err).Msg("stopped with error")
		return 1
	}
	log.Info().Msg("streamflix stopped")
	return 0
}

func migrateCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "streamflix migrate: want up, down or status\n")
		return 2
	}
	sub, rest := args[0], args[1:]
	var positional []string
	all := false
	var flags []string
	for _, a := range rest {
		switch {
		case a == "--all":
			all = true
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
		default:
			positional = append(positional, a)
		}
	}
	cfg, _, code := loadConfig("streamflix migrate", flags, getenv, stdout, stderr)
	if cfg == nil {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	db, err := pg.Open(ctx, pg.Options{URL: cfg.DatabaseURL, MaxOpenConns: 4, MaxIdleConns: 2})
	if err != nil {
		fmt.Fprintf(stderr, "streamflix migrate: %v\n", err)
		return 1
	}
	defer db.Close()
	switch sub {
	case "up":
		err = migrate.Up(ctx, db)
	case "down":
		switch {
		case all:
			err = migrate.DownAll(ctx, db)
		case len(positional) == 0:
			fmt.Fprintf(stderr, "streamflix migrate down: name a module (%v or river) and optionally a step count, or pass --all\n", migrate.Modules())
			return 2
		default:
			steps := 1
			if len(positional) > 1 {
				steps, err = strconv.Atoi(positional[1])
				if err != nil || steps < 1 {
					fmt.Fprintf(stderr, "streamflix migrate down: %q is not a positive step count\n", positional[1])
					return 2
				}
			}
			err = migrate.Down(ctx, db, positional[0], steps)
		}
	case "status":
	default:
		fmt.Fprintf(stderr, "streamflix migrate: unknown subcommand %q (want up, down or status)\n", sub)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "streamflix migrate %s: %v\n", sub, err)
		return 1
	}
	st, err := migrate.Statuses(ctx, db)
	if err != nil {
		fmt.Fprintf(stderr, "streamflix migrate status: %v\n", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "MODULE\tCURRENT\tLATEST\tSTATE")
	for _, s := range st {
		state := "up to date"
		switch {
		case s.Dirty:
			state = "dirty (a migration failed half-way; fix and force)"
		case s.Current < s.Latest:
			state = "pending"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", s.Module, s.Current, s.Latest, state)
	}
	tw.Flush()
	return 0
}
