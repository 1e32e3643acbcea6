package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/streamflix/streamflix/internal/content"
	"github.com/streamflix/streamflix/internal/content/scale"
	"github.com/streamflix/streamflix/internal/streaming"
)

// openOffline opens an instance for a one-off command: settings from the
// environment as for serve, listening only on a loopback port it never
// serves. Writes made through it invalidate the cache that running
// instances share.
func openOffline(ctx context.Context, name string, getenv func(string) string, stdout, stderr io.Writer) (*Main, int) {
	cfg, _, code := loadConfig(name, nil, getenv, stdout, stderr)
	if cfg == nil {
		return nil, code
	}
	cfg.HTTPAddr = "127.0.0.1:0"
	m := NewMain(cfg, zerolog.New(stderr).Level(zerolog.WarnLevel), Version())
	if err := m.Open(ctx); err != nil {
		m.Close()
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return nil, 1
	}
	return m, 0
}

// catalogCmd runs "streamflix catalog import|export".
func catalogCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	const want = "streamflix catalog: want import [--dry-run] FILE|- or export [--output FILE]\n"
	if len(args) == 0 {
		fmt.Fprint(stderr, want)
		return 2
	}
	switch args[0] {
	case "import":
		return catalogImport(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "export":
		return catalogExport(ctx, args[1:], getenv, stdout, stderr)
	default:
		fmt.Fprint(stderr, want)
		return 2
	}
}

// parseWithArgs parses flags wherever they stand among positional
// arguments and returns the positional ones.
func parseWithArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) > 0 {
			pos, args = append(pos, args[0]), args[1:]
		}
	}
	return pos, nil
}

func catalogImport(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("streamflix catalog import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dry := fs.Bool("dry-run", false, "check every row against the catalog and write nothing")
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprint(stderr, "streamflix catalog import: name one file, or - for standard input\n")
		return 2
	}
	in := stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			fmt.Fprintf(stderr, "streamflix catalog import: %v\n", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	m, code := openOffline(ctx, "streamflix catalog", getenv, stdout, stderr)
	if m == nil {
		return code
	}
	defer m.Close()
	rep, err := m.Catalog.Import(ctx, in, content.ImportOptions{DryRun: *dry})
	printReport(stdout, rep)
	if err != nil {
		fmt.Fprintf(stderr, "streamflix catalog import: %v\n", err)
		return 1
	}
	if rep.Titles.Failed+rep.Genres.Failed > 0 {
		return 1
	}
	return 0
}

// printReport writes an import report for people.
func printReport(w io.Writer, rep content.ImportReport) {
	if rep.DryRun {
		fmt.Fprintln(w, "dry run: nothing was written")
	}
	for _, s := range []struct {
		name string
		c    content.ImportCounts
	}{{"genres", rep.Genres}, {"titles", rep.Titles}} {
		fmt.Fprintf(w, "%s: %d created, %d updated, %d unchanged, %d failed\n", s.name, s.c.Created, s.c.Updated, s.c.Unchanged, s.c.Failed)
	}
	for _, e := range rep.Errors {
		where := fmt.Sprintf("%s[%d]", e.Section, e.Index)
		if e.ExternalKey != "" {
			where += " (" + strconv.Quote(e.ExternalKey) + ")"
		}
		if e.Field != "" {
			where += " " + e.Field
		}
		fmt.Fprintf(w, "%s: %s: %s\n", where, e.Code, e.Detail)
	}
	if rep.ErrorsOmitted > 0 {
		fmt.Fprintf(w, "... and %d more errors\n", rep.ErrorsOmitted)
	}
}

func catalogExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("streamflix catalog export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := fs.String("output", "", "file to write (default: standard output)")
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) > 0 {
		fmt.Fprint(stderr, "streamflix catalog export: takes no arguments (use --output FILE)\n")
		return 2
	}
	m, code := openOffline(ctx, "streamflix catalog", getenv, stdout, stderr)
	if m == nil {
		return code
	}
	defer m.Close()
	out := stdout
	var f *os.File
	if *output != "" {
		if f, err = os.Create(*output); err != nil {
			fmt.Fprintf(stderr, "streamflix catalog export: %v\n", err)
			return 1
		}
		out = f
	}
	err = m.Catalog.Export(ctx, out)
	if f != nil {
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		fmt.Fprintf(stderr, "streamflix catalog export: %v\n", err)
		return 1
	}
	return 0
}

// seedCmd runs "streamflix seed --demo [--if-empty]" and
// "streamflix seed --scale N [--seed S]".
func seedCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("streamflix seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	demo := fs.Bool("demo", false, "load the demo catalog (public-domain classics), published; running it again changes nothing")
	ifEmpty := fs.Bool("if-empty", false, "with --demo: do nothing when the catalog already has titles")
	scaleN := fs.Int("scale", 0, "generate this many published titles (external keys scale-0 to scale-N-1) for load tests")
	seed := fs.Uint64("seed", 1, "with --scale: the generator's seed; the same seed gives the same titles")
	videos := fs.Bool("videos", false, "queue demo videos for the demo titles that have none: "+
		"a running instance's workers make them with ffmpeg and transcode them; running it again queues nothing new")
	seconds := fs.Int("seconds", 60, "with --videos: how long each demo video runs")
	limit := fs.Int("limit", 0, "with --videos: queue at most this many (0: all of them)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	modes := 0
	for _, on := range []bool{*demo, *scaleN > 0, *videos} {
		if on {
			modes++
		}
	}
	if fs.NArg() > 0 || modes != 1 || *scaleN < 0 || *seconds < 1 || *limit < 0 {
		fmt.Fprint(stderr, "streamflix seed: want --demo [--if-empty], --scale N [--seed S] (N > 0) or --videos [--seconds S] [--limit N]\n")
		return 2
	}
	m, code := openOffline(ctx, "streamflix seed", getenv, stdout, stderr)
	if m == nil {
		return code
	}
	defer m.Close()
	if *videos {
		vs, err := demoVideos(ctx, m.Catalog, *seconds)
		if err == nil && *limit > 0 && len(vs) > *limit {
			vs = vs[:*limit]
		}
		n := 0
		if err == nil {
			n, err = m.Streaming.QueueDemoVideos(ctx, vs)
		}
		if err != nil {
			fmt.Fprintf(stderr, "streamflix seed: %v (load the demo catalog first: streamflix seed --demo)\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "demo videos: %d queued, %d already there or on their way; the workers make and transcode them (GET /api/v1/admin/videos)\n", n, len(vs)-n)
		return 0
	}
	if *scaleN > 0 {
		rep, err := scale.Seed(ctx, m.Catalog, *scaleN, *seed)
		if err != nil {
			fmt.Fprintf(stderr, "streamflix seed: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "scale: %d titles (seed %d), %d created, in %s\n", rep.Requested, *seed, rep.Created, rep.Took.Round(1e6))
		return 0
	}
	if *ifEmpty {
		n, err := m.Catalog.TitleCount(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "streamflix seed: %v\n", err)
			return 1
		}
		if n > 0 {
			fmt.Fprintf(stdout, "demo: the catalog already has %d titles; nothing to do (--if-empty)\n", n)
			return 0
		}
	}
	rep, err := m.Catalog.SeedDemo(ctx)
	printReport(stdout, rep)
	if err != nil {
		fmt.Fprintf(stderr, "streamflix seed: %v\n", err)
		return 1
	}
	if err := demoArtwork(ctx, m.Catalog, rep.TitleIDs, stdout); err != nil {
		fmt.Fprintf(stderr, "streamflix seed: %v\n", err)
		return 1
	}
	if rep.Titles.Failed+rep.Genres.Failed > 0 {
		return 1
	}
	return 0
}

// Demo titles that get a video: twelve films and every episode of two
// short series, enough to browse, play, resume and binge.
var (
	demoVideoFilms = []string{"demo-a-trip-to-the-moon-1902", "demo-the-great-train-robbery-1903", "demo-gertie-the-dinosaur-1914",
		"demo-hells-hinges-1916", "demo-the-cabinet-of-dr-caligari-1920", "demo-the-kid-1921", "demo-nosferatu-1922",
		"demo-nanook-of-the-north-1922", "demo-safety-last-1923", "demo-our-hospitality-1923", "demo-the-covered-wagon-1923",
		"demo-sherlock-jr-1924"}
	demoVideoSeries = []string{"demo-popeye-color-specials-1936", "demo-felix-the-cat-silent-shorts-1919"}
)

// demoVideos lists the demo videos to make, each captioned with its title
// (and year) or its series, episode and name.
func demoVideos(ctx context.Context, c *content.Service, seconds int) ([]streaming.DemoVideo, error) {
	var out []streaming.DemoVideo
	for i, key := range append(append([]string(nil), demoVideoFilms...), demoVideoSeries...) {
		n := 0 // a series is found through its first episode
		if i >= len(demoVideoFilms) {
			n = 1
		}
		id, _, err := c.VideoTarget(ctx, key, n, n)
		if err != nil {
			return nil, fmt.Errorf("demo title %s: %w", key, err)
		}
		t, err := c.AdminTitle(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("demo title %s: %w", key, err)
		}
		if t.Kind == content.KindMovie {
			caption := t.Name
			if t.Year != nil {
				caption += fmt.Sprintf(" (%d)", *t.Year)
			}
			out = append(out, streaming.DemoVideo{Ref: key, Caption: caption, Seconds: seconds})
			continue
		}
		for _, s := range t.Seasons {
			for _, e := range s.Episodes {
				out = append(out, streaming.DemoVideo{Ref: key, Season: s.Number, Episode: e.Number, Seconds: seconds,
					Caption: fmt.Sprintf("%s\nS%d E%d · %s", t.Name, s.Number, e.Number, e.Name)})
			}
		}
	}
	return out, nil
}

// demoArtwork draws a poster and a backdrop for every demo title that has
// none (GenerateArtwork never replaces an image), a title per core at once.
func demoArtwork(ctx context.Context, c *content.Service, ids []string, out io.Writer) error {
	start := time.Now()
	var drawn atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, id := range ids {
		g.Go(func() error {
			ok, err := c.GenerateArtwork(ctx, id)
			if err != nil {
				return fmt.Errorf("demo artwork for title %s: %w", id, err)
			}
			if ok {
				drawn.Add(1)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if n := drawn.Load(); n > 0 {
		fmt.Fprintf(out, "artwork: drew posters and backdrops for %d titles in %s\n", n, time.Since(start).Round(time.Millisecond))
	}
	return nil
}
