package notify_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/streamflix/streamflix/internal/notify"
	"github.com/streamflix/streamflix/internal/platform/apperr"
)

const bobID = "user-bob"

func newContent(title string) notify.Request {
	return notify.Request{Kind: notify.NewContent, UserID: aliceID,
		Data: map[string]string{"title": title, "link": "https://streamflix.test/titles/" + url.PathEscape(title)}}
}

func (b *testBundle) countRows(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := b.db.Get(&n, query, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestInbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	b.startQueue(t, false)
	for _, title := range []string{"One", "Two", "Three"} {
		b.enqueue(t, newContent(title))
	}
	// Sign-in links never land in the inbox; account mail does.
	b.enqueue(t, verifyRequest())
	b.enqueue(t, notify.Request{Kind: notify.PasswordChanged, UserID: aliceID, DedupKey: "pw-1"})
	b.enqueue(t, notify.Request{Kind: notify.PasswordChanged, UserID: aliceID, DedupKey: "pw-1"}) // a retried request
	b.enqueue(t, notify.Request{Kind: notify.PasswordChanged, UserID: bobID})

	t.Run("ListAndPage", func(t *testing.T) {
		p1, err := b.svc.Notifications(ctx, aliceID, 2, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(p1.Items) != 2 || p1.NextCursor == "" {
			t.Fatalf("first page: %+v", p1)
		}
		if p1.Items[0].Kind != notify.PasswordChanged || p1.Items[1].Title != "New on streamflix: Three" {
			t.Errorf("first page, newest first: %+v", p1.Items)
		}
		if p1.Items[1].Data["title"] != "Three" || !strings.Contains(p1.Items[1].Body, "Three") || p1.Items[1].Read {
			t.Errorf("item: %+v", p1.Items[1])
		}
		p2, err := b.svc.Notifications(ctx, aliceID, 2, p1.NextCursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(p2.Items) != 2 || p2.NextCursor != "" || p2.Items[0].Title != "New on streamflix: Two" || p2.Items[1].Title != "New on streamflix: One" {
			t.Fatalf("second page: %+v", p2)
		}
		if _, err := b.svc.Notifications(ctx, aliceID, 2, "bm90IGEgY3Vyc29y"); !errors.Is(err, notify.ErrBadCursor) {
			t.Errorf("bad cursor: %v", err)
		}
	})

	t.Run("ReadDeleteAndOtherUsers", func(t *testing.T) {
		if n, _ := b.svc.UnreadCount(ctx, aliceID); n != 4 {
			t.Fatalf("alice unread %d, want 4", n)
		}
		bobs, _ := b.svc.Notifications(ctx, bobID, 10, "")
		alices, _ := b.svc.Notifications(ctx, aliceID, 10, "")
		if len(bobs.Items) != 1 || len(alices.Items) != 4 {
			t.Fatalf("bob %d, alice %d", len(bobs.Items), len(alices.Items))
		}
		bobs0 := bobs.Items[0].ID
		// Alice cannot read or delete bob's.
		if _, err := b.svc.MarkRead(ctx, aliceID, bobs0); !errors.Is(err, notify.ErrNotificationNotFound) {
			t.Errorf("mark another's read: %v", err)
		}
		if err := b.svc.DeleteNotification(ctx, aliceID, bobs0); !errors.Is(err, notify.ErrNotificationNotFound) {
			t.Errorf("delete another's: %v", err)
		}
		if _, err := b.svc.MarkRead(ctx, aliceID, "not-a-uuid"); !errors.Is(err, notify.ErrNotificationNotFound) {
			t.Errorf("mark bad id read: %v", err)
		}
		if n, _ := b.svc.UnreadCount(ctx, bobID); n != 1 {
			t.Errorf("bob unread %d after alice's attempts, want 1", n)
		}
		n, err := b.svc.MarkRead(ctx, aliceID, alices.Items[0].ID)
		if err != nil || !n.Read || n.ReadAt == nil {
			t.Fatalf("mark read: %+v %v", n, err)
		}
		if c, _ := b.svc.UnreadCount(ctx, aliceID); c != 3 {
			t.Errorf("unread %d, want 3", c)
		}
		if err := b.svc.DeleteNotification(ctx, aliceID, alices.Items[1].ID); err != nil {
			t.Fatal(err)
		}
		if c, _ := b.svc.UnreadCount(ctx, aliceID); c != 2 {
			t.Errorf("unread after delete %d, want 2", c)
		}
		if m, err := b.svc.MarkAllRead(ctx, aliceID); err != nil || m != 2 {
			t.Errorf("read all: %d %v", m, err)
		}
		if c, _ := b.svc.UnreadCount(ctx, aliceID); c != 0 {
			t.Errorf("unread after read-all %d", c)
		}
		if c, _ := b.svc.UnreadCount(ctx, bobID); c != 1 {
			t.Errorf("bob unread %d after alice's read-all, want 1", c)
		}
	})
}

func TestPreferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	b.startQueue(t, false)

	p, err := b.svc.Preferences(ctx, aliceID)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range p.Items {
		if !it.Email || it.InApp != it.HasInApp || it.Essential != it.Kind.Essential() {
			t.Errorf("default %+v", it)
		}
	}

	t.Run("ErrEssential", func(t *testing.T) {
		off := false
		_, err := b.svc.UpdatePreferences(ctx, aliceID, notify.PreferencesUpdate{Items: []notify.PreferenceChange{
			{Kind: notify.NewContent, Email: &off},
			{Kind: notify.PasswordReset, Email: &off},
		}})
		e := apperr.From(err)
		if e == nil || e.HTTPStatus() != 422 || len(e.Fields) != 1 || e.Fields[0].Field != "items[1].email" {
			t.Fatalf("turning off essential mail: %#v", err)
		}
		// Nothing changed, new_content included.
		if n := b.countRows(t, `SELECT count(*) FROM notify.preferences`); n != 0 {
			t.Errorf("%d preference rows after a refused update", n)
		}
	})

	t.Run("OffMeansNotSent", func(t *testing.T) {
		off := false
		p, err := b.svc.UpdatePreferences(ctx, aliceID, notify.PreferencesUpdate{Items: []notify.PreferenceChange{
			{Kind: notify.NewContent, Email: &off, InApp: &off},
		}})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			if it.Kind == notify.NewContent && (it.Email || it.InApp) {
				t.Errorf("after update: %+v", it)
			}
		}
		b.enqueue(t, newContent("Quiet"))
		if n := b.countRows(t, `SELECT count(*) FROM river.river_job WHERE kind = 'notify.email'`); n != 0 {
			t.Errorf("%d email jobs for a kind turned off", n)
		}
		if n := b.countRows(t, `SELECT count(*) FROM notify.notifications WHERE user_id = $1`, aliceID); n != 0 {
			t.Errorf("%d inbox rows for a kind turned off", n)
		}
		// Essential mail still goes.
		b.enqueue(t, notify.Request{Kind: notify.PasswordChanged, UserID: aliceID})
		if n := b.countRows(t, `SELECT count(*) FROM river.river_job WHERE kind = 'notify.email'`); n != 1 {
			t.Errorf("%d email jobs for essential mail, want 1", n)
		}
	})
}

func TestUnsubscribe(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupWorking(t)
	b.enqueue(t, newContent("Season 2"))

	e := parseEmail(t, b.smtp.waitMessages(1)[0].Data)
	lu := e.Header.Get("List-Unsubscribe")
	if e.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.HasPrefix(lu, "<https://streamflix.test/api/v1/unsubscribe?token=") {
		t.Fatalf("List-Unsubscribe %q, -Post %q", lu, e.Header.Get("List-Unsubscribe-Post"))
	}
	u, err := url.Parse(strings.Trim(lu, "<>"))
	if err != nil {
		t.Fatal(err)
	}
	tok := u.Query().Get("token")
	if !strings.Contains(e.Text, "Season 2") || !strings.Contains(e.Text, "To stop emails like this one") {
		t.Errorf("text body:\n%s", e.Text)
	}

	t.Run("ErrTampered", func(t *testing.T) {
		body, sig, _ := strings.Cut(tok, ".")
		for _, bad := range []string{"", "x", body + ".AAAA", strings.ToUpper(body) + "." + sig, tok + "A"} {
			if _, err := b.svc.Unsubscribe(ctx, bad); !errors.Is(err, notify.ErrUnsubscribeToken) {
				t.Errorf("token %q: %v", bad, err)
			}
		}
		if n := b.countRows(t, `SELECT count(*) FROM notify.preferences`); n != 0 {
			t.Errorf("a tampered token changed preferences")
		}
		// A valid signature over an essential kind is refused too.
		ess, err := b.svc.UnsubscribeToken(ctx, aliceID, notify.PasswordReset)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.Unsubscribe(ctx, ess); !errors.Is(err, notify.ErrUnsubscribeToken) {
			t.Errorf("essential kind: %v", err)
		}
	})

	t.Run("OK", func(t *testing.T) {
		got, err := b.svc.CheckUnsubscribe(ctx, tok)
		if err != nil || got.Kind != notify.NewContent || !got.Subscribed {
			t.Fatalf("check: %+v %v", got, err)
		}
		got, err = b.svc.Unsubscribe(ctx, tok)
		if err != nil || got.Subscribed {
			t.Fatalf("unsubscribe: %+v %v", got, err)
		}
		b.enqueue(t, newContent("Season 3"))
		quiet()
		if n := len(b.smtp.messages()); n != 1 {
			t.Errorf("%d emails after unsubscribing, want 1", n)
		}
		// The inbox still gets it: only the email was turned off.
		if n := b.countRows(t, `SELECT count(*) FROM notify.notifications WHERE user_id = $1`, aliceID); n != 2 {
			t.Errorf("inbox rows %d, want 2", n)
		}
	})
}
