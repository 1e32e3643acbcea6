package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/pg"
	"github.com/streamflix/streamflix/internal/platform/pgtest"
	"github.com/streamflix/streamflix/internal/platform/queue"
	"github.com/streamflix/streamflix/internal/platform/queue/queuetest"
)

type nopMailer struct{}

func (nopMailer) Send(context.Context, *Message) error { return nil }

// TestListenBatch: one commit announcing notifications for many users (two
// for one of them) reaches every live connection of each user with that
// user's own notifications, in order, each with its JSON and the unread
// count; a user with no connection here costs nothing; a later read
// announces only the count.
func TestListenBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, url := pgtest.NewDBURL(t)
	q := queuetest.Start(t, db, queue.Config{DatabaseURL: url}) // insert-only
	s, err := New(Config{DatabaseURL: url}, Deps{DB: db, Mailer: nopMailer{}, Queue: q, Log: zerolog.Nop(),
		Recipients: RecipientsFunc(func(context.Context, string) (Recipient, error) { return Recipient{}, nil })})
	if err != nil {
		t.Fatal(err)
	}
	lctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	go s.Listen(lctx)
	for deadline := time.Now().Add(10 * time.Second); !s.listening.Load(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the listener did not start within 10s")
		}
	}

	const users = 40
	subs := map[string][]*subscriber{}
	for i := range users {
		u := fmt.Sprintf("user-%02d", i)
		subs[u] = []*subscriber{s.hub.subscribe(u), s.hub.subscribe(u)} // a phone and a laptop
	}
	request := func(u, title string) Request {
		return Request{Kind: NewContent, UserID: u, Data: map[string]string{"title": title, "link": "https://streamflix.test/t"}}
	}
	err = pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
		for i := range users {
			u := fmt.Sprintf("user-%02d", i)
			if err := s.EnqueueTx(ctx, tx, request(u, "For "+u)); err != nil {
				return err
			}
		}
		if err := s.EnqueueTx(ctx, tx, request("user-00", "Second for user-00")); err != nil {
			return err
		}
		return s.EnqueueTx(ctx, tx, request("user-offline", "Nobody is watching"))
	})
	if err != nil {
		t.Fatal(err)
	}

	next := func(t *testing.T, sub *subscriber) event {
		t.Helper()
		select {
		case ev, ok := <-sub.ch:
			if !ok {
				t.Fatalf("%s's connection was dropped", sub.userID)
			}
			return ev
		case <-time.After(15 * time.Second):
			t.Fatalf("%s: no event within 15s", sub.userID)
			return event{}
		}
	}
	for u, list := range subs {
		want := []string{"For " + u}
		unread := 1
		if u == "user-00" {
			want, unread = append(want, "Second for user-00"), 2
		}
		for _, sub := range list {
			for i, title := range want {
				ev := next(t, sub)
				if ev.n == nil || ev.n.Data["title"] != title || ev.n.EventID != int64(i+1) || ev.unread != unread {
					t.Fatalf("%s event %d: %+v (notification %+v), want %q with event id %d and %d unread", u, i, ev, ev.n, title, i+1, unread)
				}
				var sent Notification
				if err := json.Unmarshal(ev.data, &sent); err != nil || sent.ID != ev.n.ID || sent.Title != ev.n.Title {
					t.Errorf("%s: event JSON %s (%v), want the notification %s", u, ev.data, err, ev.n.ID)
				}
			}
		}
	}

	// Reading one announces only the new count, to both connections.
	first, err := s.Notifications(ctx, "user-05", 1, "")
	if err != nil || len(first.Items) != 1 {
		t.Fatalf("user-05's inbox: %+v, %v", first, err)
	}
	if _, err := s.MarkRead(ctx, "user-05", first.Items[0].ID); err != nil {
		t.Fatal(err)
	}
	for _, sub := range subs["user-05"] {
		if ev := next(t, sub); ev.n != nil || ev.unread != 0 {
			t.Errorf("after the read: %+v, want only unread 0", ev)
		}
	}
	for u, list := range subs {
		for _, sub := range list {
			select {
			case ev := <-sub.ch:
				t.Errorf("%s got an extra event %+v", u, ev)
			default:
			}
		}
	}
}
