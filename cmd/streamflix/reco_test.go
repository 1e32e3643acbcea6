package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/streamflix/streamflix/internal/reco"
)

// recoRow is a row of GET /recommendations/rows as the web app reads it.
type recoRow struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Title  string `json:"title"`
	Reason struct {
		Code      string `json:"code"`
		TitleID   string `json:"title_id"`
		TitleName string `json:"title_name"`
	} `json:"reason"`
	Items []struct {
		ID            string `json:"id"`
		Name          string `json:"name"`
		MaturityLevel int    `json:"maturity_level"`
		Genres        []struct {
			Slug string `json:"slug"`
		} `json:"genres"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

type recoRows struct {
	Rows []recoRow `json:"rows"`
}

func (r recoRows) row(kind string) *recoRow {
	for i := range r.Rows {
		if r.Rows[i].Kind == kind {
			return &r.Rows[i]
		}
	}
	return nil
}

// recoBundle is an instance with a catalog of two genres (eight sci-fi
// and eight romance films, PG), one R-rated sci-fi film, and viewers.
type recoBundle struct {
	id      *identity
	api     apiClient
	scifi   []apiTitle
	romance []apiTitle
	mature  apiTitle
}

func setupReco(t *testing.T) *recoBundle {
	t.Helper()
	id := setupIdentity(t, false)
	b := &recoBundle{id: id, api: newClient(t, id.a.URL())}
	admin := b.api.as(testAdminToken)
	admin.do("POST", "/api/v1/admin/genres", map[string]any{"slug": "scifi", "name": "Science Fiction"}).want("genre", http.StatusCreated, "")
	admin.do("POST", "/api/v1/admin/genres", map[string]any{"slug": "romance", "name": "Romance"}).want("genre", http.StatusCreated, "")
	for i := range 8 {
		b.scifi = append(b.scifi, publishTitle(t, id, map[string]any{"kind": "movie", "name": fmt.Sprintf("Star %d", i+1), "maturity_rating": "PG",
			"runtime_minutes": 100, "genres": []string{"scifi"}}))
		b.romance = append(b.romance, publishTitle(t, id, map[string]any{"kind": "movie", "name": fmt.Sprintf("Heart %d", i+1), "maturity_rating": "PG",
			"runtime_minutes": 100, "genres": []string{"romance"}}))
	}
	b.mature = publishTitle(t, id, map[string]any{"kind": "movie", "name": "Dark Star", "maturity_rating": "R", "runtime_minutes": 100, "genres": []string{"scifi"}})
	return b
}

// viewer signs up email and returns its adult profile's token and id,
// and a kids profile's token.
func (b *recoBundle) viewer(t *testing.T, email string) (adult apiClient, profileID string, kids apiClient) {
	t.Helper()
	at, kt, ut := catalogViewer(t, b.id, email)
	var ps struct {
		Items []struct {
			ID   string `json:"id"`
			Kids bool   `json:"kids"`
		} `json:"items"`
	}
	b.api.as(ut).do("GET", "/api/v1/profiles", nil).decode(&ps)
	for _, p := range ps.Items {
		if !p.Kids {
			profileID = p.ID
		}
	}
	return b.api.as(at), profileID, b.api.as(kt)
}

// finish records, as playback does, that profile watched each title to the end.
func (b *recoBundle) finish(profile string, titles ...apiTitle) {
	var evs []reco.Event
	at := time.Now().Add(-time.Hour)
	for _, tt := range titles {
		at = at.Add(time.Minute)
		session := uuid.NewString()
		evs = append(evs,
			reco.Event{ID: uuid.New(), Kind: reco.KindStart, ProfileID: profile, SessionID: session, TitleID: tt.ID, PositionS: 0, At: at},
			reco.Event{ID: uuid.New(), Kind: reco.KindProgress, ProfileID: profile, SessionID: session, TitleID: tt.ID, PositionS: 5500, At: at.Add(time.Second)},
			reco.Event{ID: uuid.New(), Kind: reco.KindComplete, ProfileID: profile, SessionID: session, TitleID: tt.ID, PositionS: 5500, At: at.Add(2 * time.Second)})
	}
	b.id.a.Reco.Record(context.Background(), evs...)
}

// crowd makes n profiles that each finish k titles of pool: the
// co-watching the models learn from.
func (b *recoBundle) crowd(n, k int, pool []apiTitle, seed int) {
	for u := range n {
		var ts []apiTitle
		for j := range k {
			ts = append(ts, pool[(u*3+j*5+seed)%len(pool)])
		}
		b.finish(uuid.NewString(), ts...)
	}
}

func (b *recoBundle) train(t *testing.T) string {
	t.Helper()
	b.id.a.Reco.Flush(context.Background())
	code, out, errOut := runCLI(t, env(b.id.dbURL, map[string]string{"MEDIA_DIR": b.id.mediaDir}), "reco", "train")
	if code != 0 {
		t.Fatalf("reco train: exit %d: %s", code, errOut)
	}
	return out
}

func rowsOf(c apiClient) recoRows {
	var r recoRows
	c.do("GET", "/api/v1/recommendations/rows", nil).want("rows", http.StatusOK, "").decode(&r)
	return r
}

// genreShare is the share of the first five titles of r in genre slug:
// where a row leans (its tail is filled up with popular titles).
func genreShare(r *recoRow, slug string) float64 {
	if r == nil || len(r.Items) == 0 {
		return math.NaN()
	}
	head := r.Items[:min(5, len(r.Items))]
	n := 0
	for _, it := range head {
		for _, g := range it.Genres {
			if g.Slug == slug {
				n++
			}
		}
	}
	return float64(n) / float64(len(head))
}

func TestRecoRows(t *testing.T) {
	t.Parallel()
	b := setupReco(t)
	fan, fanID, fanKids := b.viewer(t, "scifi@example.com")
	lover, loverID, _ := b.viewer(t, "romance@example.com")

	// Before any watching or retrain: new releases and genre rows only.
	cold := rowsOf(fan)
	if cold.row(reco.RowNew) == nil || cold.row(reco.RowTop) != nil || cold.row(reco.RowBecause) != nil {
		t.Fatalf("cold rows: %+v", cold)
	}

	// Two crowds with opposite tastes, the mature film among the sci-fi one's.
	b.crowd(30, 4, append(append([]apiTitle{}, b.scifi...), b.mature), 0)
	b.crowd(30, 4, b.romance, 1)
	b.finish(fanID, b.scifi[0], b.scifi[1])
	b.finish(loverID, b.romance[0], b.romance[1])
	out := b.train(t)
	if !strings.Contains(out, "<- Top picks") || !strings.Contains(out, "MostPop") || !strings.Contains(out, "EASE") {
		t.Fatalf("reco train output:\n%s", out)
	}

	fanRows, loverRows := rowsOf(fan), rowsOf(lover)
	var order []string
	for _, r := range fanRows.Rows {
		order = append(order, r.Kind)
	}
	if got := strings.Join(order, ","); !strings.HasPrefix(got, "top,because,because,trending,new,genre") {
		t.Fatalf("row order: %s", got)
	}
	if top := fanRows.row(reco.RowTop); top.Title != "Top picks for Ada" || genreShare(top, "scifi") < 0.8 {
		t.Errorf("sci-fi fan's top picks (%q) hold %.0f%% sci-fi: %+v", top.Title, 100*genreShare(top, "scifi"), top.Items)
	}
	if top := loverRows.row(reco.RowTop); genreShare(top, "romance") < 0.8 {
		t.Errorf("romance lover's top picks hold %.0f%% romance: %+v", 100*genreShare(top, "romance"), top.Items)
	}
	// Because you watched names the latest finished title, and holds neither it nor anything finished.
	bw := fanRows.row(reco.RowBecause)
	if bw.Reason.Code != "because_you_watched" || bw.Reason.TitleID != b.scifi[1].ID || bw.Reason.TitleName != b.scifi[1].Name ||
		bw.Title != "Because you watched "+b.scifi[1].Name {
		t.Errorf("because you watched: %+v", bw)
	}
	for _, r := range fanRows.Rows {
		if r.Kind == reco.RowNew || r.Kind == reco.RowMyList {
			continue
		}
		for _, it := range r.Items {
			if it.ID == b.scifi[0].ID || it.ID == b.scifi[1].ID {
				t.Errorf("row %s offers %s, already finished", r.ID, it.Name)
			}
		}
	}

	// A thumbs-down title leaves every row, My List included, at once.
	down := fanRows.row(reco.RowTop).Items[0]
	fan.do("PUT", "/api/v1/my-list/"+down.ID, nil).want("add to my list", http.StatusNoContent, "")
	if rowsOf(fan).row(reco.RowMyList) == nil {
		t.Fatal("no My List row after adding a title")
	}
	fan.do("PUT", "/api/v1/titles/"+down.ID+"/rating", map[string]any{"rating": "down"}).want("thumbs down", http.StatusOK, "")
	check := func(what string) {
		t.Helper()
		for _, r := range rowsOf(fan).Rows {
			for _, it := range r.Items {
				if it.ID == down.ID {
					t.Errorf("%s: thumbs-down %s is in row %s", what, it.Name, r.ID)
				}
			}
		}
	}
	check("at once")
	// ...and after the nearline rescore and another retrain.
	eventually(t, "rescore after the thumbs-down", func() bool {
		var n int
		_ = b.id.db.Get(&n, `SELECT count(*) FROM reco.topn WHERE profile_id = $1 AND NOT ($2::uuid = ANY(items)) AND scored_at > now() - interval '1 minute'`, fanID, down.ID)
		return n == 1
	})
	check("after the rescore")
	b.train(t)
	check("after a retrain")

	// Nearline: a profile that appears after the retrain gets its top-N
	// from its first finished watch, without waiting for the next one.
	late, lateID, _ := b.viewer(t, "late@example.com")
	b.finish(lateID, b.romance[2], b.romance[3])
	b.id.a.Reco.Flush(context.Background())
	eventually(t, "nearline top-n", func() bool {
		var n int
		_ = b.id.db.Get(&n, `SELECT count(*) FROM reco.topn WHERE profile_id = $1`, lateID)
		return n == 1
	})
	if top := rowsOf(late).row(reco.RowTop); genreShare(top, "romance") < 0.8 {
		t.Errorf("late profile's top picks hold %.0f%% romance", 100*genreShare(top, "romance"))
	}

	// A kids profile never sees the R-rated film, although the crowd made it popular.
	for _, r := range rowsOf(fanKids).Rows {
		for _, it := range r.Items {
			if it.ID == b.mature.ID || it.MaturityLevel > 20 {
				t.Errorf("kids profile sees %s (level %d) in row %s", it.Name, it.MaturityLevel, r.ID)
			}
		}
	}
	// The adult sees it trending.
	found := false
	for _, it := range rowsOf(lover).row(reco.RowTrending).Items {
		found = found || it.ID == b.mature.ID
	}
	if !found {
		t.Error("the popular R-rated film is not trending for an adult")
	}

	// Paging a row, and bad rows.
	var page struct {
		Items      []struct{ ID string } `json:"items"`
		NextCursor string                `json:"next_cursor"`
	}
	lover.do("GET", "/api/v1/recommendations?row=trending&limit=3", nil).want("trending page", http.StatusOK, "").decode(&page)
	if len(page.Items) != 3 || page.NextCursor == "" {
		t.Fatalf("trending page: %+v", page)
	}
	first := page.Items[0].ID
	lover.do("GET", "/api/v1/recommendations?row=trending&limit=3&cursor="+page.NextCursor, nil).want("next page", http.StatusOK, "").decode(&page)
	if len(page.Items) == 0 || page.Items[0].ID == first {
		t.Fatalf("second page: %+v", page)
	}
	lover.do("GET", "/api/v1/recommendations?row=nope", nil).want("bad row", http.StatusUnprocessableEntity, "validation_failed")
	lover.do("GET", "/api/v1/recommendations?row=top&cursor=zzz", nil).want("bad cursor", http.StatusUnprocessableEntity, "validation_failed")
	lover.do("GET", "/api/v1/recommendations?row=because&title_id="+b.romance[1].ID, nil).want("because page", http.StatusOK, "")
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	b := setupReco(t)
	fan, fanID, _ := b.viewer(t, "events@example.com")
	now := time.Now().UTC().Truncate(time.Millisecond)
	batch := map[string]any{"events": []map[string]any{
		{"id": uuid.NewString(), "kind": "seek", "at": now, "title_id": b.scifi[0].ID, "position_s": 120.5, "from_s": 30},
		{"id": uuid.NewString(), "kind": "rebuffer", "at": now, "title_id": b.scifi[0].ID, "position_s": 121, "duration_ms": 900},
		{"id": uuid.NewString(), "kind": "error", "at": now, "title_id": b.scifi[0].ID, "code": "media_decode", "message": "frame dropped"},
	}}
	var acc struct {
		Accepted int `json:"accepted"`
	}
	fan.do("POST", "/api/v1/events", batch).want("events", http.StatusAccepted, "").decode(&acc)
	if acc.Accepted != 3 {
		t.Fatalf("accepted %d", acc.Accepted)
	}
	// The same batch again (a lost answer, retried) is stored once.
	fan.do("POST", "/api/v1/events", batch).want("events again", http.StatusAccepted, "")
	count := func() int {
		var n int
		if err := b.id.db.Get(&n, `SELECT count(*) FROM analytics.events WHERE profile_id = $1`, fanID); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Written within a second, without anyone flushing.
	eventually(t, "events written", func() bool { return count() == 3 })
	var detail string
	if err := b.id.db.Get(&detail, `SELECT detail::text FROM analytics.events WHERE profile_id = $1 AND kind = 'rebuffer'`, fanID); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, `"duration_ms": 900`) {
		t.Errorf("rebuffer detail: %s", detail)
	}

	// Bad events: every field at fault named, nothing written.
	resp := fan.do("POST", "/api/v1/events", map[string]any{"events": []map[string]any{
		{"id": uuid.NewString(), "kind": "seek", "at": now},
		{"id": "not-a-uuid", "kind": "start", "at": now.Add(-30 * 24 * time.Hour), "position_s": -1},
		{"id": uuid.NewString(), "kind": "error", "at": now},
	}}).want("bad events", http.StatusUnprocessableEntity, "validation_failed")
	for _, f := range []string{"events[1].id", "events[1].kind", "events[1].at", "events[1].position_s", "events[2].code"} {
		if !strings.Contains(string(resp.body), `"field":"`+f+`"`) {
			t.Errorf("no error for %s: %s", f, resp.body)
		}
	}
	fan.do("POST", "/api/v1/events", map[string]any{"events": []map[string]any{}}).want("empty batch", http.StatusUnprocessableEntity, "validation_failed")
	fan.do("POST", "/api/v1/events", map[string]any{"events": []map[string]any{{"id": uuid.NewString(), "kind": "seek", "at": now, "extra": 1}}}).
		want("unknown field", http.StatusUnprocessableEntity, "validation_failed")
	b.id.a.Reco.Flush(context.Background())
	if n := count(); n != 3 {
		t.Errorf("bad batches wrote events: %d rows", n)
	}
	b.api.do("POST", "/api/v1/events", batch).want("no token", http.StatusUnauthorized, "unauthorized")

	// Playback's events fold into the watching summary once, however often delivered.
	ev := reco.Event{ID: uuid.New(), Kind: reco.KindComplete, ProfileID: fanID, TitleID: b.romance[0].ID, PositionS: 5500, At: now}
	b.id.a.Reco.Record(context.Background(), ev, ev)
	b.id.a.Reco.Flush(context.Background())
	b.id.a.Reco.Record(context.Background(), ev)
	b.id.a.Reco.Flush(context.Background())
	var completes int
	if err := b.id.db.Get(&completes, `SELECT completes FROM reco.watch WHERE profile_id = $1 AND title_id = $2`, fanID, b.romance[0].ID); err != nil {
		t.Fatal(err)
	}
	if completes != 1 {
		t.Errorf("one complete event delivered three times counts %d", completes)
	}
	// An event of a month without a partition yet creates it.
	old := reco.Event{ID: uuid.New(), Kind: reco.KindProgress, ProfileID: fanID, TitleID: b.romance[1].ID, PositionS: 60, At: now.AddDate(-2, 0, 0)}
	b.id.a.Reco.Record(context.Background(), old)
	b.id.a.Reco.Flush(context.Background())
	var n int
	if err := b.id.db.Get(&n, `SELECT count(*) FROM analytics.events WHERE id = $1`, old.ID); err != nil || n != 1 {
		t.Errorf("old event stored %d times (%v)", n, err)
	}
}

func TestMyList(t *testing.T) {
	t.Parallel()
	b := setupReco(t)
	fan, _, kids := b.viewer(t, "list@example.com")
	var list struct {
		Items []struct {
			ID      string    `json:"id"`
			AddedAt time.Time `json:"added_at"`
		} `json:"items"`
	}
	fan.do("GET", "/api/v1/my-list", nil).want("empty list", http.StatusOK, "").decode(&list)
	if len(list.Items) != 0 {
		t.Fatalf("new profile's list: %+v", list)
	}
	fan.do("PUT", "/api/v1/my-list/"+b.scifi[0].ID, nil).want("add", http.StatusNoContent, "")
	fan.do("PUT", "/api/v1/my-list/"+b.romance[0].ID, nil).want("add", http.StatusNoContent, "")
	fan.do("PUT", "/api/v1/my-list/"+b.scifi[0].ID, nil).want("add again", http.StatusNoContent, "")
	fan.do("GET", "/api/v1/my-list", nil).decode(&list)
	if len(list.Items) != 2 || list.Items[0].ID != b.romance[0].ID || list.Items[1].ID != b.scifi[0].ID {
		t.Fatalf("list, latest first: %+v", list)
	}
	// Per profile: the kids profile's list is its own, and it cannot add what it may not see.
	kids.do("GET", "/api/v1/my-list", nil).decode(&list)
	if len(list.Items) != 0 {
		t.Errorf("kids profile sees the adult's list: %+v", list)
	}
	kids.do("PUT", "/api/v1/my-list/"+b.mature.ID, nil).want("kids adds mature", http.StatusNotFound, "title_not_found")
	fan.do("PUT", "/api/v1/my-list/"+uuid.NewString(), nil).want("unknown title", http.StatusNotFound, "title_not_found")
	fan.do("PUT", "/api/v1/my-list/nope", nil).want("not an id", http.StatusNotFound, "title_not_found")
	fan.do("DELETE", "/api/v1/my-list/"+b.scifi[0].ID, nil).want("remove", http.StatusNoContent, "")
	fan.do("DELETE", "/api/v1/my-list/"+b.scifi[0].ID, nil).want("remove again", http.StatusNoContent, "")
	fan.do("GET", "/api/v1/my-list", nil).decode(&list)
	if len(list.Items) != 1 || list.Items[0].ID != b.romance[0].ID {
		t.Fatalf("list after removal: %+v", list)
	}
	if r := rowsOf(fan).row(reco.RowMyList); r == nil || len(r.Items) != 1 || r.Items[0].ID != b.romance[0].ID {
		t.Errorf("My List row: %+v", r)
	}
}

func TestRating(t *testing.T) {
	t.Parallel()
	b := setupReco(t)
	fan, fanID, kids := b.viewer(t, "rate@example.com")
	var st struct {
		TitleID string  `json:"title_id"`
		Rating  *string `json:"rating"`
	}
	fan.do("PUT", "/api/v1/titles/"+b.scifi[0].ID+"/rating", map[string]any{"rating": "up"}).want("up", http.StatusOK, "").decode(&st)
	if st.Rating == nil || *st.Rating != "up" || st.TitleID != b.scifi[0].ID {
		t.Fatalf("rating: %+v", st)
	}
	fan.do("PUT", "/api/v1/titles/"+b.scifi[1].ID+"/rating", map[string]any{"rating": "down"}).want("down", http.StatusOK, "")
	fan.do("PUT", "/api/v1/titles/"+b.scifi[0].ID+"/rating", map[string]any{"rating": nil}).want("take back", http.StatusOK, "").decode(&st)
	if st.Rating != nil {
		t.Fatalf("rating taken back: %+v", st)
	}
	var ratings []string
	if err := b.id.db.Select(&ratings, `SELECT title_id::text || ':' || rating FROM reco.ratings WHERE profile_id = $1`, fanID); err != nil {
		t.Fatal(err)
	}
	if len(ratings) != 1 || ratings[0] != b.scifi[1].ID+":-1" {
		t.Errorf("stored ratings: %v", ratings)
	}
	resp := fan.do("PUT", "/api/v1/titles/"+b.scifi[0].ID+"/rating", map[string]any{"rating": "meh"}).want("bad rating", http.StatusUnprocessableEntity, "validation_failed")
	if !strings.Contains(string(resp.body), `"field":"rating"`) {
		t.Errorf("bad rating names no field: %s", resp.body)
	}
	fan.do("PUT", "/api/v1/titles/"+uuid.NewString()+"/rating", map[string]any{"rating": "up"}).want("unknown title", http.StatusNotFound, "title_not_found")
	kids.do("PUT", "/api/v1/titles/"+b.mature.ID+"/rating", map[string]any{"rating": "up"}).want("kids rates mature", http.StatusNotFound, "title_not_found")
	// The thumbs-down title is gone from the rows at once, even before any retrain.
	for _, r := range rowsOf(fan).Rows {
		for _, it := range r.Items {
			if it.ID == b.scifi[1].ID {
				t.Errorf("thumbs-down title in row %s", r.ID)
			}
		}
	}

	// Cold-start picks lead a new profile's rows.
	var picks struct {
		TitleIDs []string `json:"title_ids"`
		Genres   []string `json:"genres"`
	}
	kids.do("PUT", "/api/v1/recommendations/picks", map[string]any{"title_ids": []string{b.romance[2].ID}, "genres": []string{"romance"}}).
		want("picks", http.StatusOK, "").decode(&picks)
	kids.do("GET", "/api/v1/recommendations/picks", nil).want("get picks", http.StatusOK, "").decode(&picks)
	if len(picks.Genres) != 1 || picks.Genres[0] != "romance" || len(picks.TitleIDs) != 1 {
		t.Fatalf("picks: %+v", picks)
	}
	rows := rowsOf(kids)
	if top := rows.row(reco.RowTop); top == nil || top.Reason.Code != "cold_start" || genreShare(top, "romance") < 0.99 {
		t.Errorf("cold-start top picks: %+v", top)
	}
	if g := rows.row(reco.RowGenre); g == nil || g.ID != "genre:romance" {
		t.Errorf("first genre row is not the picked genre: %+v", g)
	}
	resp = kids.do("PUT", "/api/v1/recommendations/picks", map[string]any{"title_ids": []string{b.mature.ID}, "genres": []string{"western"}}).
		want("bad picks", http.StatusUnprocessableEntity, "validation_failed")
	if !strings.Contains(string(resp.body), `"field":"title_ids[0]"`) || !strings.Contains(string(resp.body), `"field":"genres[0]"`) {
		t.Errorf("bad picks: %s", resp.body)
	}
}
