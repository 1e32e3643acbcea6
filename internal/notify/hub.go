package notify

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// subBuffer is how many events a live connection may fall behind before it
// is dropped (and its client reconnects with Last-Event-ID).
const subBuffer = 64

// event is what the hub hands a subscriber: a new notification (n set,
// with its JSON in data, encoded once for every connection) or only a new
// unread count.
type event struct {
	n      *Notification
	data   []byte
	unread int
}

// subscriber is one live SSE connection.
type subscriber struct {
	userID string
	ch     chan event
	closed bool // guarded by hub.mu
}

// hub fans inbox events out to this instance's live connections. One
// Postgres LISTEN connection per instance feeds it.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[*subscriber]struct{}
}

func newHub() *hub { return &hub{subs: map[string]map[*subscriber]struct{}{}} }

func (h *hub) subscribe(userID string) *subscriber {
	s := &subscriber{userID: userID, ch: make(chan event, subBuffer)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[userID] == nil {
		h.subs[userID] = map[*subscriber]struct{}{}
	}
	h.subs[userID][s] = struct{}{}
	return s
}

// unsubscribe removes s; its channel is closed. Safe to call twice.
func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropLocked(s)
}

func (h *hub) dropLocked(s *subscriber) {
	if s.closed {
		return
	}
	s.closed = true
	close(s.ch)
	delete(h.subs[s.userID], s)
	if len(h.subs[s.userID]) == 0 {
		delete(h.subs, s.userID)
	}
}

func (h *hub) has(userID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[userID]) > 0
}

// publish hands ev to every connection of userID without blocking: a
// connection whose buffer is full is dropped.
func (h *hub) publish(userID string, ev event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[userID] {
		select {
		case s.ch <- ev:
		default:
			h.dropLocked(s)
		}
	}
}

// closeAll drops every connection (after the listener lost events); the
// clients reconnect and catch up with Last-Event-ID.
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.subs {
		for s := range set {
			h.dropLocked(s)
		}
	}
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, set := range h.subs {
		n += len(set)
	}
	return n
}

// Listen runs this instance's inbox listener until ctx ends: one Postgres
// connection that LISTENs for inbox changes committed on any instance and
// hands them to the live connections here. It reconnects after an error
// (dropping live connections, which then catch up by Last-Event-ID). When
// ctx ends every live connection is closed, so that shutdown is not held
// up by streams. Without Config.DatabaseURL it returns at once and live
// updates are off.
func (s *Service) Listen(ctx context.Context) {
	defer s.hub.closeAll()
	if s.databaseURL == "" {
		s.log.Warn().Msg("notify: no database URL; live inbox updates are off")
		return
	}
	const firstBackoff = 100 * time.Millisecond
	backoff := firstBackoff
	for ctx.Err() == nil {
		err := s.listenOnce(ctx)
		if s.listening.Swap(false) {
			// It was listening: a fresh loss, not a run of failed dials.
			backoff = firstBackoff
		}
		if ctx.Err() != nil {
			return
		}
		s.log.Warn().Err(err).Dur("retry_in", backoff).Msg("inbox listener lost; reconnecting")
		s.hub.closeAll()
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// maxPending bounds the changes waiting for the dispatcher. Beyond it the
// listener gives up on them and drops every live connection, whose clients
// reconnect and catch up with Last-Event-ID.
const maxPending = 100_000

// dispatchMax bounds the changes one dispatch reads.
const dispatchMax = 1000

// change is one inbox change announced on inboxChannel.
type change struct {
	userID string
	seq    int64 // 0: only the unread count changed
}

var errTooFarBehind = errors.New("inbox dispatch fell too far behind")

// listenOnce receives changes on one connection and hands them to a
// dispatcher goroutine, which reads them from the database in batches: all
// that arrived while it read the previous batch, in two statements. So one
// commit announcing a thousand notifications costs two queries, not two
// thousand in a row.
func (s *Service) listenOnce(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, s.databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+inboxChannel); err != nil {
		return err
	}
	s.listening.Store(true)

	var mu sync.Mutex
	var pending []change
	wake := make(chan struct{}, 1)
	dctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	defer func() {
		stop()
		<-done
	}()
	go func() {
		defer close(done)
		for {
			select {
			case <-dctx.Done():
				return
			case <-wake:
			}
			for {
				mu.Lock()
				n := min(len(pending), dispatchMax)
				batch := pending[:n:n]
				pending = pending[n:]
				mu.Unlock()
				if n == 0 {
					break
				}
				s.dispatch(dctx, batch)
			}
		}
	}()

	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		userID, seqText, ok := strings.Cut(n.Payload, " ")
		seq, err := strconv.ParseInt(seqText, 10, 64)
		if !ok || err != nil || !s.hub.has(userID) {
			continue
		}
		mu.Lock()
		if len(pending) >= maxPending {
			mu.Unlock()
			return errTooFarBehind
		}
		pending = append(pending, change{userID: userID, seq: seq})
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// dispatch reads a batch of changes and fans them out in order: each new
// notification (encoded once) and, with every change, the user's unread
// count as it is now.
func (s *Service) dispatch(ctx context.Context, batch []change) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var users []string
	var keys []change
	seen := map[string]bool{}
	for _, c := range batch {
		if !seen[c.userID] {
			seen[c.userID] = true
			users = append(users, c.userID)
		}
		if c.seq > 0 {
			keys = append(keys, c)
		}
	}
	ns, err := s.notificationsBySeq(ctx, keys)
	if err != nil {
		s.log.Warn().Err(err).Msg("inbox: read new notifications")
		return
	}
	unread, err := unreadCounts(ctx, s.db, users)
	if err != nil {
		s.log.Warn().Err(err).Msg("inbox: count unread")
		return
	}
	for _, c := range batch {
		ev := event{unread: unread[c.userID]}
		if n, ok := ns[c]; ok {
			ev.n = &n
			ev.data, _ = json.Marshal(n)
		}
		s.hub.publish(c.userID, ev)
	}
}

// LiveConnections returns how many SSE connections this instance serves.
func (s *Service) LiveConnections() int { return s.hub.count() }
