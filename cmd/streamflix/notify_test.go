package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvent is one Server-Sent Event.
type sseEvent struct{ ID, Event, Data string }

// sseStream is a live GET /api/v1/notifications/stream.
type sseStream struct {
	cancel context.CancelFunc
	events chan sseEvent
}

// openStream opens c's notification stream. The stream never ends, so it
// is read here as it comes rather than through apiClient.do.
func openStream(t *testing.T, c apiClient, lastEventID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/api/v1/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sseStream{cancel: cancel, events: make(chan sseEvent, 100)}
	go func() {
		defer resp.Body.Close()
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Event != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data = line[6:]
			}
		}
	}()
	t.Cleanup(cancel)
	return s
}

// next returns the next event named name, skipping others.
func (s *sseStream) next(t *testing.T, name string) sseEvent {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("stream ended before a %s event", name)
			}
			if ev.Event == name {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event within 15s", name)
		}
	}
}

func eventID(t *testing.T, ev sseEvent) int64 {
	t.Helper()
	n, err := strconv.ParseInt(ev.ID, 10, 64)
	if err != nil {
		t.Fatalf("event id %q: %v", ev.ID, err)
	}
	return n
}

type inboxItem struct {
	ID      string            `json:"id"`
	Kind    string            `json:"kind"`
	Title   string            `json:"title"`
	Data    map[string]string `json:"data"`
	Read    bool              `json:"read"`
	EventID int64             `json:"event_id"`
}

func TestNotificationsAcrossInstances(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, true)
	a, b := newClient(t, id.a.URL()), newClient(t, id.b.URL())
	id.signUp("nia@example.com")
	id.mailTo("nia@example.com", "erify")
	first := id.login(a, "nia@example.com", goodPassword, "Laptop")
	niaA, niaB := a.as(first.AccessToken), b.as(first.AccessToken)

	// A live stream on instance B; the sign-in that causes the
	// notification goes to instance A.
	stream := openStream(t, niaB, "")
	if u := stream.next(t, "unread"); u.Data != `{"unread":0}` {
		t.Fatalf("first unread event %q", u.Data)
	}
	id.login(a, "nia@example.com", goodPassword, "Phone")
	ev := stream.next(t, "notification")
	var n inboxItem
	if err := json.Unmarshal([]byte(ev.Data), &n); err != nil {
		t.Fatal(err)
	}
	if n.Kind != "new_sign_in" || !strings.Contains(n.Data["device"], "Phone") || eventID(t, ev) < 1 {
		t.Fatalf("event %+v / %+v", ev, n)
	}
	if u := stream.next(t, "unread"); u.Data != `{"unread":1}` {
		t.Errorf("unread after the sign-in: %q", u.Data)
	}
	stream.cancel()

	// Missed while disconnected: a reconnect with Last-Event-ID replays it.
	id.login(a, "nia@example.com", goodPassword, "TV")
	again := openStream(t, niaB, ev.ID)
	ev2 := again.next(t, "notification")
	var n2 inboxItem
	_ = json.Unmarshal([]byte(ev2.Data), &n2)
	if n2.Kind != "new_sign_in" || !strings.Contains(n2.Data["device"], "TV") || eventID(t, ev2) <= eventID(t, ev) {
		t.Fatalf("replayed %+v / %+v (last seen id %s)", ev2, n2, ev.ID)
	}
	if u := again.next(t, "unread"); u.Data != `{"unread":2}` {
		t.Errorf("unread on reconnect: %q", u.Data)
	}

	// The inbox over HTTP, on either instance.
	var page struct {
		Items      []inboxItem `json:"items"`
		NextCursor string      `json:"next_cursor"`
	}
	niaA.do("GET", "/api/v1/notifications?limit=1", nil).want("list", 200, "").decode(&page)
	if len(page.Items) != 1 || page.NextCursor == "" || !strings.Contains(page.Items[0].Data["device"], "TV") {
		t.Fatalf("first page %+v", page)
	}
	newest := page.Items[0]
	cursor := page.NextCursor
	page.Items, page.NextCursor = nil, ""
	niaB.do("GET", "/api/v1/notifications?limit=1&cursor="+cursor, nil).want("list page 2", 200, "").decode(&page)
	if len(page.Items) != 1 || page.NextCursor != "" || !strings.Contains(page.Items[0].Data["device"], "Phone") {
		t.Fatalf("second page %+v", page)
	}

	// Another user cannot touch nia's notifications.
	id.signUp("otto@example.com")
	id.mailTo("otto@example.com", "erify")
	otto := id.login(a, "otto@example.com", goodPassword, "Laptop")
	a.as(otto.AccessToken).do("POST", "/api/v1/notifications/"+newest.ID+"/read", nil).want("read another's", 404, "notification_not_found")
	a.as(otto.AccessToken).do("DELETE", "/api/v1/notifications/"+newest.ID, nil).want("delete another's", 404, "notification_not_found")

	niaA.do("POST", "/api/v1/notifications/"+newest.ID+"/read", nil).want("read", 200, "")
	if u := again.next(t, "unread"); u.Data != `{"unread":1}` {
		t.Errorf("unread event after read on the other instance: %q", u.Data)
	}
	var cnt struct{ Unread int }
	niaB.do("GET", "/api/v1/notifications/unread-count", nil).decode(&cnt)
	if cnt.Unread != 1 {
		t.Errorf("unread-count %d, want 1", cnt.Unread)
	}
	niaA.do("POST", "/api/v1/notifications/read-all", nil).want("read-all", 200, "")
	niaA.do("DELETE", "/api/v1/notifications/"+newest.ID, nil).want("delete", 204, "")
	niaB.do("GET", "/api/v1/notifications/unread-count", nil).decode(&cnt)
	if cnt.Unread != 0 {
		t.Errorf("unread-count after read-all %d", cnt.Unread)
	}

	// Preferences: essential mail cannot be turned off.
	body := niaA.do("PUT", "/api/v1/notification-preferences", map[string]any{"items": []map[string]any{{"kind": "new_sign_in", "email": false}}}).
		want("turn off essential", 422, "validation_failed").json()
	if errs, _ := body["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["field"] != "items[0].email" {
		t.Errorf("field errors %v", body["errors"])
	}
	var prefs struct {
		Items []struct {
			Kind  string `json:"kind"`
			Email bool   `json:"email"`
		} `json:"items"`
	}
	niaB.do("PUT", "/api/v1/notification-preferences", map[string]any{"items": []map[string]any{{"kind": "new_content", "email": false}}}).
		want("turn off new_content", 200, "").decode(&prefs)
	for _, p := range prefs.Items {
		if p.Kind == "new_content" && p.Email || p.Kind != "new_content" && !p.Email {
			t.Errorf("preference %+v", p)
		}
	}

	// A tampered unsubscribe link changes nothing, signed in or not.
	a.do("POST", "/api/v1/unsubscribe?token=bmV3X2NvbnRlbnQ6eA.AAAA", nil).want("tampered unsubscribe", 422, "unsubscribe_token_invalid")

	// Operators see failed deliveries (none here).
	a.as(testAdminToken).do("GET", "/api/v1/admin/notifications/failed", nil).want("failed deliveries", 200, "")
	niaA.do("GET", "/api/v1/admin/notifications/failed", nil).want("failed deliveries as a user", 403, "admin_required")
}
