// Package logging sets up zerolog (JSON lines on stdout, pretty on a
// terminal), optionally through a Buffer that saves a write per routine
// line, and carries the request id and a request-scoped logger through
// contexts (WithRequestID, or a Scope), including into queued jobs.
package logging

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// New returns the root logger writing to w at level ("trace".."error") in
// format ("json", "pretty" or "auto": pretty when w is a terminal). w may
// be a Buffer; "auto" then looks at the Buffer's destination, and pretty
// lines go through it unheld.
func New(w io.Writer, level, format string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	if format == "pretty" || (format == "auto" && isTerminal(w)) {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

func isTerminal(w io.Writer) bool {
	if b, ok := w.(*Buffer); ok {
		w = b.w
	}
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// Slog adapts a zerolog logger for libraries that take *slog.Logger (River).
func Slog(l zerolog.Logger) *slog.Logger {
	return slog.New(zerolog.NewSlogHandler(l))
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Ctx returns the logger stored in ctx by zerolog's WithContext, falling
// back to the disabled logger (zerolog's default).
func Ctx(ctx context.Context) *zerolog.Logger { return zerolog.Ctx(ctx) }
