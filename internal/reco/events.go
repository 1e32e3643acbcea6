package reco

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// Kinds of event. Playback sends the first five (Record); players send
// the client kinds in batches (POST /events).
const (
	KindStart    = "start"
	KindProgress = "progress"
	KindQuality  = "quality"
	KindStop     = "stop"
	KindComplete = "complete"
	KindSeek     = "seek"
	KindError    = "error"
	KindRebuffer = "rebuffer"
)

// Event is one viewing event. ID is unique per event: an event delivered
// twice (with the same ID and At) is stored once.
type Event struct {
	ID        uuid.UUID
	Kind      string
	AccountID string
	ProfileID string
	SessionID string
	TitleID   string
	EpisodeID string // "" for a movie
	VideoID   string
	// PositionS is where the viewer was, in seconds; NaN when unknown.
	PositionS float64
	Rendition string
	At        time.Time

	detail []byte // client events: what else the player said, as JSON
	client bool
}

// Record hands events to the analytics writer, which stores them within
// FlushInterval (half a second by default) in one statement per batch. It
// never blocks: when the writer's buffer is full (the database is down or
// far behind) the events are dropped and counted
// (streamflix_reco_events_dropped_total). Events without a profile are
// left out. Events still in memory when the process dies are lost: see
// the README's loss window.
func (s *Service) Record(_ context.Context, evs ...Event) {
	for _, e := range evs {
		if e.ProfileID == "" || e.ID == uuid.Nil {
			continue
		}
		if e.At.IsZero() {
			e.At = time.Now()
		}
		s.w.add(e)
	}
}

// ClientEvent is one event a player reports (POST /events).
type ClientEvent struct {
	// ID is the event's own id, made by the player: a batch sent again
	// after a lost answer stores each event once.
	ID   string `json:"id" jsonschema:"format=uuid"`
	Kind string `json:"kind" jsonschema:"enum=seek,enum=error,enum=rebuffer"`
	// At is when it happened: not more than 7 days ago nor 5 minutes ahead.
	At        time.Time `json:"at"`
	SessionID string    `json:"session_id,omitempty" jsonschema:"description=The playback session."`
	TitleID   string    `json:"title_id,omitempty" jsonschema:"format=uuid"`
	EpisodeID string    `json:"episode_id,omitempty" jsonschema:"format=uuid"`
	VideoID   string    `json:"video_id,omitempty"`
	// PositionS is where the viewer was (seek: where it landed).
	PositionS *float64 `json:"position_s,omitempty"`
	// FromS is where a seek started.
	FromS *float64 `json:"from_s,omitempty"`
	// DurationMS is how long a rebuffer lasted.
	DurationMS *int `json:"duration_ms,omitempty"`
	// Code and Message describe an error.
	Code      string `json:"code,omitempty"`
	Message   string `json:"message,omitempty"`
	Rendition string `json:"rendition,omitempty"`
}

// EventBatch is POST /events's body.
type EventBatch struct {
	Events []ClientEvent `json:"events" jsonschema:"minItems=1,maxItems=100"`
}

// Accepted is POST /events's answer.
type Accepted struct {
	Accepted int `json:"accepted"`
}

// MaxBatch is the most events one POST /events may carry.
const MaxBatch = 100

// RecordClient validates a batch of a player's events and records them
// for the profile. It returns a validation error naming each field at
// fault (events[2].kind) and records nothing then.
func (s *Service) RecordClient(ctx context.Context, v Viewer, b EventBatch) (Accepted, error) {
	now := time.Now()
	var fe []apperr.FieldError
	bad := func(i int, field, code, msg string) {
		fe = append(fe, apperr.FieldError{Field: "events[" + strconv.Itoa(i) + "]." + field, Code: code, Message: msg})
	}
	if len(b.Events) == 0 || len(b.Events) > MaxBatch {
		return Accepted{}, apperr.Validation(apperr.FieldError{Field: "events", Code: "out_of_range", Message: "Send 1 to 100 events."})
	}
	evs := make([]Event, 0, len(b.Events))
	for i, c := range b.Events {
		id, err := uuid.Parse(c.ID)
		if err != nil || len(c.ID) != 36 {
			bad(i, "id", "invalid", "Must be a UUID.")
		}
		switch c.Kind {
		case KindSeek, KindError, KindRebuffer:
		default:
			bad(i, "kind", "invalid", "Must be seek, error or rebuffer.")
		}
		switch {
		case c.At.IsZero():
			bad(i, "at", "required", "Say when it happened.")
		case c.At.Before(now.Add(-7*24*time.Hour)) || c.At.After(now.Add(5*time.Minute)):
			bad(i, "at", "out_of_range", "Must be within the last 7 days.")
		}
		for _, f := range []struct{ name, v string }{{"title_id", c.TitleID}, {"episode_id", c.EpisodeID}} {
			if f.v != "" && (len(f.v) != 36 || uuid.Validate(f.v) != nil) {
				bad(i, f.name, "invalid", "Must be a UUID.")
			}
		}
		for _, f := range []struct {
			name string
			v    *float64
		}{{"position_s", c.PositionS}, {"from_s", c.FromS}} {
			if f.v != nil && (math.IsNaN(*f.v) || *f.v < 0 || *f.v > 1e6) {
				bad(i, f.name, "out_of_range", "Must be between 0 and 1,000,000 seconds.")
			}
		}
		if c.DurationMS != nil && (*c.DurationMS < 0 || *c.DurationMS > 3_600_000) {
			bad(i, "duration_ms", "out_of_range", "Must be between 0 and 3,600,000.")
		}
		for _, f := range []struct {
			name, v string
			max     int
		}{{"session_id", c.SessionID, 64}, {"video_id", c.VideoID, 64}, {"code", c.Code, 64}, {"rendition", c.Rendition, 32}, {"message", c.Message, 500}} {
			if len(f.v) > f.max {
				bad(i, f.name, "too_long", fmt.Sprintf("At most %d bytes.", f.max))
			}
		}
		if c.Kind == KindError && c.Code == "" {
			bad(i, "code", "required", "An error event names its code.")
		}
		e := Event{ID: id, Kind: c.Kind, AccountID: v.AccountID, ProfileID: v.ProfileID, SessionID: c.SessionID,
			TitleID: c.TitleID, EpisodeID: c.EpisodeID, VideoID: c.VideoID, PositionS: math.NaN(), Rendition: c.Rendition,
			At: c.At.UTC(), client: true}
		if c.PositionS != nil {
			e.PositionS = *c.PositionS
		}
		d := map[string]any{}
		if c.FromS != nil {
			d["from_s"] = *c.FromS
		}
		if c.DurationMS != nil {
			d["duration_ms"] = *c.DurationMS
		}
		if c.Code != "" {
			d["code"] = c.Code
		}
		if c.Message != "" {
			d["message"] = c.Message
		}
		if len(d) > 0 {
			e.detail, _ = json.Marshal(d)
		}
		evs = append(evs, e)
	}
	if len(fe) > 0 {
		return Accepted{}, apperr.Validation(fe...)
	}
	s.Record(ctx, evs...)
	return Accepted{Accepted: len(evs)}, nil
}

// writer buffers events and writes them in batches: when maxBatch are
// waiting or FlushInterval has passed since the first, whichever comes
// first. A batch that fails stays in memory and is tried again at the
// next flush (up to the buffer size, beyond which the oldest are dropped).
type writer struct {
	s     *Service
	in    chan Event
	done  chan struct{}
	once  sync.Once
	flush chan chan struct{}
}

const maxBatch = 2000

func newWriter(s *Service) *writer {
	w := &writer{s: s, in: make(chan Event, s.cfg.BufferSize), done: make(chan struct{}), flush: make(chan chan struct{})}
	go w.run()
	return w
}

var errClosed = errors.New("reco: writer closed")

func (w *writer) add(e Event) {
	defer func() {
		// A send on the closed channel after close: drop, never panic the caller.
		if recover() != nil {
			w.s.m.dropped.Inc()
		}
	}()
	select {
	case w.in <- e:
		w.s.m.recorded.Inc()
	default:
		w.s.m.dropped.Inc()
	}
}

// Flush writes every event recorded so far and returns once they are
// stored (or the attempt failed and they wait for the next one).
func (s *Service) Flush(ctx context.Context) {
	c := make(chan struct{})
	select {
	case s.w.flush <- c:
	case <-s.w.done:
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-c:
	case <-ctx.Done():
	}
}

func (w *writer) close() error {
	w.once.Do(func() { close(w.in) })
	select {
	case <-w.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("reco: %w: events still unwritten after 10s", errClosed)
	}
}

func (w *writer) run() {
	defer close(w.done)
	var batch []Event
	t := time.NewTimer(time.Hour)
	t.Stop()
	armed := false
	write := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.s.writeEvents(ctx, batch)
		cancel()
		if err != nil {
			w.s.log.Error().Err(err).Int("events", len(batch)).Msg("write analytics events; will retry")
			if over := len(batch) - w.s.cfg.BufferSize; over > 0 {
				w.s.m.dropped.Add(float64(over))
				batch = batch[over:]
			}
			return
		}
		batch = batch[:0]
	}
	for {
		select {
		case e, ok := <-w.in:
			if !ok {
				write()
				return
			}
			batch = append(batch, e)
			if len(batch) >= maxBatch {
				write()
			}
			if !armed && len(batch) > 0 {
				t.Reset(w.s.cfg.FlushInterval)
				armed = true
			}
		case <-t.C:
			armed = false
			write()
			if len(batch) > 0 { // failed: try again later
				t.Reset(w.s.cfg.FlushInterval)
				armed = true
			}
		case c := <-w.flush:
			// Take what is already queued, then write it.
			for n := len(w.in); n > 0; n-- {
				batch = append(batch, <-w.in)
			}
			write()
			close(c)
		}
	}
}
