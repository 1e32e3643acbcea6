package notify

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// Heartbeat is how often an idle SSE stream gets a comment line, so that
// proxies keep it open and dead clients are noticed.
const Heartbeat = 15 * time.Second

// maxReplay bounds the events replayed to a reconnecting stream.
const maxReplay = 500

// UnreadCount is GET /api/v1/notifications/unread-count's body and the
// data of the `unread` SSE event.
type UnreadCount struct {
	Unread int `json:"unread"`
}

// ReadAll is POST /api/v1/notifications/read-all's body.
type ReadAll struct {
	Marked int64 `json:"marked"`
}

// Handler serves notify's routes over a Service.
type Handler struct{ s *Service }

// NewHandler returns the HTTP handler of s.
func NewHandler(s *Service) *Handler { return &Handler{s: s} }

// Routes mounts notify's routes: the inbox and its live stream, the
// preferences, one-click unsubscribe and the operators' failed deliveries.
func (h *Handler) Routes(r api.Routes) {
	const tag = "notifications"
	r.Handle(api.Op{Method: "GET", Path: "/notifications", ID: "notificationsList", Tag: tag, Access: api.User,
		Summary: "The signed-in user's in-app notifications, newest first.", Params: []api.Param{api.LimitParam, api.CursorParam},
		Response: NotificationPage{}}, h.handleList)
	r.Handle(api.Op{Method: "GET", Path: "/notifications/unread-count", ID: "notificationsUnreadCount", Tag: tag, Access: api.User,
		Summary: "How many notifications are unread.", Response: UnreadCount{}}, h.handleUnread)
	r.Handle(api.Op{Method: "GET", Path: "/notifications/stream", ID: "notificationsStream", Tag: tag, Access: api.User, Stream: true,
		ContentType: "text/event-stream",
		Summary: "Live inbox updates as Server-Sent Events: `notification` (a Notification, id = its event_id) and `unread` (UnreadCount); " +
			"a comment every 15 s. Reconnect with Last-Event-ID to receive what was missed.",
		Params: []api.Param{{Name: "Last-Event-ID", In: "header", Type: "integer", Description: "The last event id received."}}}, h.handleStream)
	r.Handle(api.Op{Method: "POST", Path: "/notifications/read-all", ID: "notificationsReadAll", Tag: tag, Access: api.User,
		Summary: "Mark every notification read.", Response: ReadAll{}}, h.handleReadAll)
	r.Handle(api.Op{Method: "POST", Path: "/notifications/{id}/read", ID: "notificationRead", Tag: tag, Access: api.User,
		Summary: "Mark one notification read.", Params: []api.Param{{Name: "id", In: "path", Required: true}},
		Response: Notification{}, Errors: []*apperr.Error{ErrNotificationNotFound}}, h.handleRead)
	r.Handle(api.Op{Method: "DELETE", Path: "/notifications/{id}", ID: "notificationDelete", Tag: tag, Access: api.User,
		Summary: "Delete one notification.", Params: []api.Param{{Name: "id", In: "path", Required: true}}, Errors: []*apperr.Error{ErrNotificationNotFound}}, h.handleDelete)
	r.Handle(api.Op{Method: "GET", Path: "/notification-preferences", ID: "notificationPreferencesGet", Tag: tag, Access: api.User,
		Summary: "Which notifications reach the user, per kind and channel (email, in_app).", Response: Preferences{}}, h.handlePrefsGet)
	r.Handle(api.Op{Method: "PUT", Path: "/notification-preferences", ID: "notificationPreferencesPut", Tag: tag, Access: api.User,
		Summary: "Turn kinds on or off per channel; essential (account, security, billing) kinds cannot be turned off (422).",
		Request: PreferencesUpdate{}, Response: Preferences{}}, h.handlePrefsPut)
	tokenParam := []api.Param{{Name: "token", Required: true, Description: "The token from the email's unsubscribe link."}}
	r.Handle(api.Op{Method: "GET", Path: "/unsubscribe", ID: "unsubscribeCheck", Tag: tag, Access: api.Public,
		Summary: "What an unsubscribe link will turn off.", Params: tokenParam, Response: Unsubscription{}, Errors: []*apperr.Error{ErrUnsubscribeToken}}, h.handleUnsubscribeGet)
	r.Handle(api.Op{Method: "POST", Path: "/unsubscribe", ID: "unsubscribe", Tag: tag, Access: api.Public,
		Summary: "One-click unsubscribe (RFC 8058): turn that kind of email off, without signing in.", Params: tokenParam,
		Response: Unsubscription{}, Errors: []*apperr.Error{ErrUnsubscribeToken}}, h.handleUnsubscribePost)
	r.Handle(api.Op{Method: "GET", Path: "/admin/notifications/failed", ID: "adminNotificationsFailed", Tag: "platform", Access: api.Admin,
		Summary: "Email deliveries that failed for good, newest first. Retry one with POST /api/v1/admin/jobs/{job_id}/retry.",
		Params:  []api.Param{api.LimitParam, api.CursorParam}, Response: DeliveryPage{}}, h.handleFailed)
}

func userID(r *http.Request) string { return api.PrincipalFrom(r.Context()).UserID }

func (h *Handler) handleList(w http.ResponseWriter, r *http.Request) {
	limit, err := api.Limit(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	page, err := h.s.Notifications(r.Context(), userID(r), limit, r.URL.Query().Get("cursor"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, page)
}

func (h *Handler) handleUnread(w http.ResponseWriter, r *http.Request) {
	n, err := h.s.UnreadCount(r.Context(), userID(r))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, UnreadCount{Unread: n})
}

func (h *Handler) handleRead(w http.ResponseWriter, r *http.Request) {
	n, err := h.s.MarkRead(r.Context(), userID(r), chi.URLParam(r, "id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, n)
}

func (h *Handler) handleReadAll(w http.ResponseWriter, r *http.Request) {
	n, err := h.s.MarkAllRead(r.Context(), userID(r))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, ReadAll{Marked: n})
}

func (h *Handler) handleDelete(w http.ResponseWriter, r *http.Request) {
	if err := h.s.DeleteNotification(r.Context(), userID(r), chi.URLParam(r, "id")); err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) handlePrefsGet(w http.ResponseWriter, r *http.Request) {
	p, err := h.s.Preferences(r.Context(), userID(r))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, p)
}

func (h *Handler) handlePrefsPut(w http.ResponseWriter, r *http.Request) {
	var u PreferencesUpdate
	if err := api.Decode(r, &u); err != nil {
		api.WriteError(w, r, err)
		return
	}
	p, err := h.s.UpdatePreferences(r.Context(), userID(r), u)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, p)
}

func (h *Handler) handleUnsubscribeGet(w http.ResponseWriter, r *http.Request) {
	u, err := h.s.CheckUnsubscribe(r.Context(), r.URL.Query().Get("token"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.JSON(w, http.StatusOK, u)
}

func (h *Handler) handleUnsubscribePost(w http.ResponseWriter, r *http.Request) {
	// RFC 8058 posts "List-Unsubscribe=One-Click" as a form; the token is
	// in the URL, so the body is not needed.
	u, err := h.s.Unsubscribe(r.Context(), r.URL.Query().Get("token"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, u)
}

// handleStream serves the live inbox as Server-Sent Events.
func (h *Handler) handleStream(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	uid := userID(r)
	rc := http.NewResponseController(w)
	// Subscribe before reading the backlog, so nothing falls in between.
	sub := h.s.hub.subscribe(uid)
	defer h.s.hub.unsubscribe(sub)

	var last int64
	var err error
	if v := strings.TrimSpace(r.Header.Get("Last-Event-ID")); v != "" {
		last, err = strconv.ParseInt(v, 10, 64)
		if err != nil || last < 0 {
			last = 0
		}
	} else if last, err = h.s.lastEventID(ctx, uid); err != nil {
		api.WriteError(w, r, err)
		return
	}

	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Accel-Buffering", "no") // nginx: pass events through at once
	w.WriteHeader(http.StatusOK)

	write := func(f func() error) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := f(); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	sendN := func(n Notification, b []byte) error {
		if b == nil {
			b, _ = json.Marshal(n)
		}
		_, err := fmt.Fprintf(w, "id: %d\nevent: notification\ndata: %s\n\n", n.EventID, b)
		if err == nil && n.EventID > last {
			last = n.EventID
		}
		return err
	}
	sendUnread := func(c int) error {
		_, err := fmt.Fprintf(w, "event: unread\ndata: {\"unread\":%d}\n\n", c)
		return err
	}
	catchUp := func() error {
		ns, err := h.s.notificationsSince(ctx, uid, last, maxReplay)
		if err != nil {
			return err
		}
		for _, n := range ns {
			if err := sendN(n, nil); err != nil {
				return err
			}
		}
		c, err := h.s.UnreadCount(ctx, uid)
		if err != nil {
			return err
		}
		return sendUnread(c)
	}
	if !write(func() error { _, err := fmt.Fprint(w, "retry: 2000\n\n"); return err }) || !write(catchUp) {
		return
	}

	tick := time.NewTicker(Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if !write(func() error { _, err := fmt.Fprint(w, ": keep-alive\n\n"); return err }) {
				return
			}
		case ev, ok := <-sub.ch:
			if !ok {
				return // dropped (too slow, or the listener restarted): the client reconnects
			}
			var f func() error
			switch {
			case ev.n != nil && ev.n.EventID <= last:
				// Sent already, by the catch-up that raced its live event;
				// its count is no newer than what followed, and a change
				// since then brings an event of its own.
				continue
			case ev.n != nil && ev.n.EventID == last+1:
				f = func() error {
					if err := sendN(*ev.n, ev.data); err != nil {
						return err
					}
					return sendUnread(ev.unread)
				}
			case ev.n != nil:
				f = catchUp // a gap: read what is missing from the database
			default:
				f = func() error { return sendUnread(ev.unread) }
			}
			if !write(f) {
				return
			}
		}
	}
}

func (h *Handler) handleFailed(w http.ResponseWriter, r *http.Request) {
	limit, err := api.Limit(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	page, err := h.s.FailedDeliveries(r.Context(), limit, r.URL.Query().Get("cursor"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, page)
}
