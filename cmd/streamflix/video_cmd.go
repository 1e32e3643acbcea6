package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// videoCmd runs "streamflix video import FILE --title KEY [--season N --episode N]".
func videoCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	const want = "streamflix video: want import FILE --title KEY [--season N --episode N] [--language en]\n"
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprint(stderr, want)
		return 2
	}
	fs := flag.NewFlagSet("streamflix video import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	title := fs.String("title", "", "the movie or series: its external key or id")
	season := fs.Int("season", 0, "season number (series)")
	episode := fs.Int("episode", 0, "episode number (series)")
	lang := fs.String("language", "en", "the video's language")
	pos, err := parseWithArgs(fs, args[1:])
	if err != nil {
		return 2
	}
	if len(pos) != 1 || *title == "" {
		fmt.Fprint(stderr, want)
		return 2
	}
	m, code := openOffline(ctx, "streamflix video", getenv, stdout, stderr)
	if m == nil {
		return code
	}
	defer m.Close()
	v, err := m.Streaming.ImportFile(ctx, pos[0], *title, *season, *episode, *lang)
	if err != nil {
		fmt.Fprintf(stderr, "streamflix video import: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "video %s %s: the workers transcode it (GET /api/v1/admin/videos/%s)\n", v.ID, v.State, v.ID)
	return 0
}
