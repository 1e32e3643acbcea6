package logging

import (
	"io"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// DefaultFlushEvery is how long a Buffer holds lines at most when
// NewBuffer is given no interval.
const DefaultFlushEvery = 100 * time.Millisecond

// bufferMax is how many bytes a Buffer holds before it writes them out
// without waiting for its interval: a few hundred access-log lines.
const bufferMax = 32 << 10

// Buffer is a log destination that saves the write system call per line
// for routine lines. zerolog hands it each line with its level: lines below
// warn (trace, debug, info: the access log) are held in memory and written
// to the underlying writer together, once 32 KiB are held or DefaultFlushEvery
// (100ms) after the first held line, whichever comes first. A line at warn
// or above, or one written without a level (Write, as zerolog's
// ConsoleWriter does), is written at once, after the lines held before it,
// so lines keep their order and an error is never held.
//
// What a crash can lose: if the process dies without Close (SIGKILL, the
// OOM killer, a fatal runtime error, os.Exit), the info and debug lines of
// its last 100ms at most, never more than 32 KiB; no warning or error
// line. A panic recovered by the gateway is logged at error, so it and the
// lines before it are written at once.
//
// Call Close when the process stops; a Buffer is safe for concurrent use.
type Buffer struct {
	w     io.Writer
	every time.Duration

	mu     sync.Mutex
	buf    []byte
	timer  *time.Timer
	armed  bool  // timer will fire
	closed bool  // Close was called: every write goes through at once
	err    error // from a flush by the timer, returned by the next write
}

// NewBuffer returns a Buffer writing to w, holding lines for at most every
// (DefaultFlushEvery, 100ms, if every is not positive).
func NewBuffer(w io.Writer, every time.Duration) *Buffer {
	if every <= 0 {
		every = DefaultFlushEvery
	}
	b := &Buffer{w: w, every: every}
	b.timer = time.AfterFunc(time.Hour, b.timerFlush)
	b.timer.Stop()
	return b
}

// WriteLevel holds p if level is below warn and writes it through
// otherwise. p is copied. zerolog calls it for every line.
func (b *Buffer) WriteLevel(level zerolog.Level, p []byte) (int, error) {
	if level >= zerolog.WarnLevel { // NoLevel, zerolog's Log(), sorts above too
		return b.Write(p)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || len(p) > bufferMax {
		return b.writeThrough(p)
	}
	err := b.takeErr()
	if len(b.buf)+len(p) > bufferMax {
		if ferr := b.flush(); err == nil {
			err = ferr
		}
	}
	b.buf = append(b.buf, p...)
	if !b.armed {
		b.armed = true
		b.timer.Reset(b.every)
	}
	return len(p), err
}

// Write writes what is held, then p, to the underlying writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.writeThrough(p)
}

// Flush writes what is held to the underlying writer and returns the
// writer's error.
func (b *Buffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.takeErr()
	if ferr := b.flush(); err == nil {
		err = ferr
	}
	return err
}

// Close writes what is held and stops holding: later lines are written at
// once, so lines logged during shutdown after Close are not lost. It does
// not close the underlying writer. Close returns the writer's error.
func (b *Buffer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.timer.Stop()
	b.armed = false
	err := b.takeErr()
	if ferr := b.flush(); err == nil {
		err = ferr
	}
	return err
}

func (b *Buffer) timerFlush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	if err := b.flush(); err != nil && b.err == nil {
		b.err = err
	}
}

// writeThrough flushes, then writes p. Callers hold b.mu.
func (b *Buffer) writeThrough(p []byte) (int, error) {
	err := b.takeErr()
	if ferr := b.flush(); err == nil {
		err = ferr
	}
	n, werr := b.w.Write(p)
	if err == nil {
		err = werr
	}
	return n, err
}

// flush writes the held bytes. They are dropped even if the write fails:
// retrying could hold a broken destination's lines forever. Callers hold
// b.mu.
func (b *Buffer) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// takeErr returns and forgets the error of the last timer flush. Callers
// hold b.mu.
func (b *Buffer) takeErr() error {
	err := b.err
	b.err = nil
	return err
}
