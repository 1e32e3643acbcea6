package content

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/cache"
	"github.com/streamflix/streamflix/internal/platform/pgtest"
	"github.com/streamflix/streamflix/internal/platform/storage"
)

type testBundle struct {
	t     *testing.T
	s     *Service
	ctx   context.Context
	cache cache.Cache
	media *storage.Local
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	db := pgtest.NewDB(t)
	c := cache.NewMemory().Cache
	media, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{MediaURL: "https://cdn.example.com/media/"}, Deps{DB: db, Cache: c, Media: media, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return &testBundle{t: t, s: s, ctx: context.Background(), cache: c, media: media}
}

var adult = Viewer{MaturityLevel: 50}
var kid = Viewer{MaturityLevel: 20}

func (b *testBundle) genre(slug, name string) Genre {
	b.t.Helper()
	g, err := b.s.CreateGenre(b.ctx, GenreInput{Slug: slug, Name: name})
	if err != nil {
		b.t.Fatal(err)
	}
	return g
}

// title creates and publishes a title.
func (b *testBundle) title(in TitleInput) AdminTitle {
	b.t.Helper()
	if in.Kind == "" {
		in.Kind = KindMovie
	}
	if in.MaturityRating == "" {
		in.MaturityRating = "PG"
	}
	t, err := b.s.CreateTitle(b.ctx, in)
	if err != nil {
		b.t.Fatalf("create %q: %v", in.Name, err)
	}
	if t, err = b.s.SetPublished(b.ctx, t.ID, true); err != nil {
		b.t.Fatal(err)
	}
	return t
}

func fieldsOf(err error) map[string]string {
	out := map[string]string{}
	if e := apperr.From(err); e != nil {
		for _, f := range e.Fields {
			out[f.Field] = f.Code
		}
	}
	return out
}

func names(ts []Title) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func TestTitleValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	year := 1700
	until := time.Now()
	from := until.Add(time.Hour)
	_, err := b.s.CreateTitle(b.ctx, TitleInput{Kind: "film", Name: " ", MaturityRating: "XXX", ReleaseYear: &year,
		Languages: []string{"english"}, AvailableFrom: &from, AvailableUntil: &until, Synopsis: "bad\x00byte",
		People: []CreditInput{{PersonID: "nope", Role: "grip"}}})
	got := fieldsOf(err)
	for field, code := range map[string]string{"kind": "invalid", "name": "required", "maturity_rating": "invalid", "release_year": "out_of_range",
		"languages[0]": "invalid", "available_until": "before_available_from", "synopsis": "invalid", "people[0].person_id": "invalid", "people[0].role": "invalid"} {
		if got[field] != code {
			t.Errorf("field %s: code %q, want %q (all %v)", field, got[field], code, got)
		}
	}
	_, err = b.s.CreateTitle(b.ctx, TitleInput{Kind: KindMovie, Name: "X", MaturityRating: "G", Genres: []string{"nope"},
		People: []CreditInput{{PersonID: "00000000-0000-4000-8000-000000000000", Role: RoleActor}}})
	got = fieldsOf(err)
	if got["genres[0]"] != "unknown" || got["people[0].person_id"] != "unknown" {
		t.Fatalf("unknown references: %v", got)
	}
	// Nothing half-made stays behind.
	var n int
	if err := b.s.db.Get(&n, `SELECT count(*) FROM content.titles`); err != nil || n != 0 {
		t.Fatalf("titles after failed creates: %d %v", n, err)
	}
}

func TestTitleCRUD(t *testing.T) {
	t.Parallel()
	b := setup(t)
	drama := b.genre("drama", "Drama")
	p, err := b.s.CreatePerson(b.ctx, PersonInput{Name: "Humphrey Bogart"})
	if err != nil {
		t.Fatal(err)
	}
	y := 1942
	created, err := b.s.CreateTitle(b.ctx, TitleInput{Kind: KindMovie, Name: "Casablanca", ReleaseYear: &y, MaturityRating: "PG",
		Genres: []string{"drama"}, People: []CreditInput{{PersonID: p.ID, Role: RoleActor, Character: "Rick"}}, Tags: []string{"classic"}})
	if err != nil {
		t.Fatal(err)
	}
	if created.Status != StatusDraft || created.MaturityLevel != 20 || len(created.Genres) != 1 || created.Genres[0].ID != drama.ID ||
		len(created.People) != 1 || created.People[0].Name != "Humphrey Bogart" || created.Playable {
		t.Fatalf("created: %+v", created)
	}
	// Drafts are invisible.
	if _, err := b.s.Title(b.ctx, adult, created.ID); !errors.Is(err, ErrTitleNotFound) {
		t.Fatalf("draft: %v", err)
	}
	// Search by a person's name once published.
	b.s.SetPublished(b.ctx, created.ID, true)
	if p, err := b.s.Search(b.ctx, adult, "bogart", Filter{}); err != nil || len(p.Items) != 1 {
		t.Fatalf("search by person: %+v %v", p, err)
	}
	in, err := b.s.TitleInput(b.ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	in.Kind = KindSeries
	if _, err := b.s.UpdateTitle(b.ctx, created.ID, in); fieldsOf(err)["kind"] != "immutable" {
		t.Fatalf("kind change: %v", err)
	}
	in.Kind = KindMovie
	// The video is streaming's to attach; an update keeps it.
	if err := b.s.SetVideo(b.ctx, created.ID, "", "video-1", true); err != nil {
		t.Fatal(err)
	}
	in.MaturityRating = "R"
	upd, err := b.s.UpdateTitle(b.ctx, created.ID, in)
	if err != nil || !upd.Playable || upd.VideoID == nil || *upd.VideoID != "video-1" || upd.MaturityLevel != 40 || upd.People[0].Character != "Rick" {
		t.Fatalf("update: %+v %v", upd, err)
	}
	if _, err := b.s.CreateSeason(b.ctx, created.ID, SeasonInput{Number: 1}); !errors.Is(err, ErrNotSeries) {
		t.Fatalf("season on a movie: %v", err)
	}
	if err := b.s.DeleteTitle(b.ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.s.DeleteTitle(b.ctx, created.ID); !errors.Is(err, ErrTitleNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := b.s.CreateGenre(b.ctx, GenreInput{Slug: "drama", Name: "Drama again"}); !errors.Is(err, ErrGenreTaken) {
		t.Fatalf("duplicate genre: %v", err)
	}
}

func TestSeriesSeasonsEpisodes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	show := b.title(TitleInput{Kind: KindSeries, Name: "The Lone Ranger", MaturityRating: "TV-G"})
	s1, err := b.s.CreateSeason(b.ctx, show.ID, SeasonInput{Number: 1, Name: "Season 1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.CreateSeason(b.ctx, show.ID, SeasonInput{Number: 1}); !errors.Is(err, ErrSeasonTaken) {
		t.Fatalf("duplicate season: %v", err)
	}
	for _, n := range []int{2, 1} {
		if _, err := b.s.CreateEpisode(b.ctx, s1.ID, EpisodeInput{Number: n, Name: "Episode " + string(rune('0'+n))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.s.CreateEpisode(b.ctx, s1.ID, EpisodeInput{Number: 1, Name: "Again"}); !errors.Is(err, ErrEpisodeTaken) {
		t.Fatalf("duplicate episode: %v", err)
	}
	if _, err := b.s.CreateEpisode(b.ctx, "00000000-0000-4000-8000-000000000000", EpisodeInput{Number: 1, Name: "X"}); !errors.Is(err, ErrSeasonNotFound) {
		t.Fatalf("unknown season: %v", err)
	}
	l, err := b.s.Seasons(b.ctx, kid, show.ID)
	if err != nil || len(l.Items) != 1 || len(l.Items[0].Episodes) != 2 || l.Items[0].Episodes[0].Number != 1 {
		t.Fatalf("seasons: %+v %v", l, err)
	}
	// Attaching a video to an episode makes the series playable.
	ep := l.Items[0].Episodes[0]
	if err := b.s.SetVideo(b.ctx, show.ID, ep.ID, "v1", true); err != nil {
		t.Fatal(err)
	}
	// and changing the episode keeps it.
	if _, err := b.s.UpdateEpisode(b.ctx, ep.ID, EpisodeInput{Number: 1, Name: ep.Name + " (restored)"}); err != nil {
		t.Fatal(err)
	}
	d, err := b.s.Title(b.ctx, kid, show.ID)
	if err != nil || !d.Playable || len(d.Seasons) != 1 {
		t.Fatalf("title page: %+v %v", d, err)
	}
	if err := b.s.DeleteSeason(b.ctx, s1.ID); err != nil {
		t.Fatal(err)
	}
	if d, _ := b.s.Title(b.ctx, kid, show.ID); d.Playable || len(d.Seasons) != 0 {
		t.Fatalf("after deleting the season: %+v", d)
	}
}

func TestVisibility(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.genre("drama", "Drama")
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	open := b.title(TitleInput{Name: "Open", Genres: []string{"drama"}})
	b.title(TitleInput{Name: "Future", AvailableFrom: &future, Genres: []string{"drama"}})
	from := past.Add(-time.Hour)
	b.title(TitleInput{Name: "Expired", AvailableFrom: &from, AvailableUntil: &past, Genres: []string{"drama"}})
	mature := b.title(TitleInput{Name: "Mature Open", MaturityRating: "R", Genres: []string{"drama"}})
	draft, _ := b.s.CreateTitle(b.ctx, TitleInput{Kind: KindMovie, Name: "Open Draft", MaturityRating: "G", Genres: []string{"drama"}})

	p, err := b.s.Titles(b.ctx, adult, Filter{})
	if err != nil || strings.Join(names(p.Items), ",") != "Mature Open,Open" {
		t.Fatalf("adult list: %v %v", names(p.Items), err)
	}
	p, _ = b.s.Titles(b.ctx, kid, Filter{Genre: "drama"})
	if strings.Join(names(p.Items), ",") != "Open" {
		t.Fatalf("kid list: %v", names(p.Items))
	}
	if _, err := b.s.Title(b.ctx, kid, mature.ID); !errors.Is(err, ErrTitleNotFound) {
		t.Fatalf("kid opening a mature title: %v", err)
	}
	if _, err := b.s.Title(b.ctx, adult, draft.ID); !errors.Is(err, ErrTitleNotFound) {
		t.Fatalf("draft: %v", err)
	}
	if p, _ := b.s.Search(b.ctx, kid, "open", Filter{}); strings.Join(names(p.Items), ",") != "Open" {
		t.Fatalf("kid search: %v", names(p.Items))
	}
	if l, _ := b.s.Suggest(b.ctx, kid, "ma"); len(l.Items) != 0 {
		t.Fatalf("kid suggest: %+v", l)
	}
	h, err := b.s.Home(b.ctx, kid)
	if err != nil || len(h.Rows) != 2 || h.Rows[1].Genre != "drama" || len(h.Rows[1].Items) != 1 {
		t.Fatalf("kid home: %+v %v", h, err)
	}
	d, err := b.s.Title(b.ctx, adult, open.ID)
	if err != nil || strings.Join(names(d.Related), ",") != "Mature Open" {
		t.Fatalf("related: %v %v", names(d.Related), err)
	}
	if d, _ := b.s.Title(b.ctx, kid, open.ID); len(d.Related) != 0 {
		t.Fatalf("kid sees mature related: %v", names(d.Related))
	}
}

func TestPaging(t *testing.T) {
	t.Parallel()
	b := setup(t)
	want := map[string]bool{}
	for i := 0; i < 25; i++ {
		tt := b.title(TitleInput{Name: "Title " + string(rune('A'+i))})
		want[tt.ID] = true
	}
	seen, pages := pageAll(t, "", func(cur string) (Page, error) {
		return b.s.Titles(b.ctx, adult, Filter{Limit: 7, Cursor: cur})
	})
	if len(seen) != 25 || pages != 4 {
		t.Fatalf("saw %d titles in %d pages", len(seen), pages)
	}
	for _, bad := range []string{"!!!", "eyJ4IjoxfQ", cursor{O: 5}.encode()} {
		if _, err := b.s.Titles(b.ctx, adult, Filter{Cursor: bad}); fieldsOf(err)["cursor"] != "invalid" {
			t.Fatalf("cursor %q: %v", bad, err)
		}
	}
	// Search pages too.
	seen, _ = pageAll(t, "search ", func(cur string) (Page, error) {
		return b.s.Search(b.ctx, adult, "title", Filter{Limit: 10, Cursor: cur})
	})
	if len(seen) != 25 {
		t.Fatalf("search saw %d", len(seen))
	}
}

// pageAll follows the next cursors from the first page to the last and
// returns the ids it saw and how many pages it read. It fails on an error or
// on an item seen twice (what prefixes the message).
func pageAll(t *testing.T, what string, page func(cursor string) (Page, error)) (map[string]bool, int) {
	t.Helper()
	seen := map[string]bool{}
	cur := ""
	pages := 0
	for {
		p, err := page(cur)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range p.Items {
			if seen[it.ID] {
				t.Fatalf("%sduplicate %s", what, it.Name)
			}
			seen[it.ID] = true
		}
		if p.NextCursor == "" {
			return seen, pages
		}
		cur = p.NextCursor
	}
}

func TestSearch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.title(TitleInput{Name: "Casablanca", Synopsis: "A nightclub owner in wartime Morocco.", Tags: []string{"romance"}})
	b.title(TitleInput{Name: "Morocco", Synopsis: "A legionnaire and a cabaret singer."})
	b.title(TitleInput{Name: "Night of the Living Dead", Kind: KindMovie, MaturityRating: "R"})

	p, err := b.s.Search(b.ctx, adult, "casablanka", Filter{})
	if err != nil || len(p.Items) == 0 || p.Items[0].Name != "Casablanca" {
		t.Fatalf("typo: %v %v", names(p.Items), err)
	}
	// Search as you type: the last word matches as a prefix; a typo in one
	// word of several is corrected too.
	for q, want := range map[string]string{"casabl": "Casablanca", "night of the livng": "Night of the Living Dead", "livnig dead": "Night of the Living Dead"} {
		if p, err := b.s.Search(b.ctx, adult, q, Filter{}); err != nil || len(p.Items) == 0 || p.Items[0].Name != want {
			t.Errorf("search %q: %v %v, want %s first", q, names(p.Items), err, want)
		}
	}
	// A name match outranks a synopsis match.
	p, _ = b.s.Search(b.ctx, adult, "morocco", Filter{})
	if strings.Join(names(p.Items), ",") != "Morocco,Casablanca" {
		t.Fatalf("ranking: %v", names(p.Items))
	}
	if l, err := b.s.Suggest(b.ctx, adult, "Cas"); err != nil || len(l.Items) != 1 || l.Items[0].Name != "Casablanca" {
		t.Fatalf("suggest: %+v %v", l, err)
	}
	if l, _ := b.s.Suggest(b.ctx, adult, "%"); len(l.Items) != 0 {
		t.Fatalf("suggest %%: %+v", l)
	}
	for _, q := range []string{`'); DROP TABLE content.titles; -- & | ! :*`, `!!!`, `"unclosed`, `a & (b | !c):*`, `\`, `%_%`, strings.Repeat("ab ", 66)} {
		if _, err := b.s.Search(b.ctx, adult, q, Filter{}); err != nil {
			t.Errorf("search %q: %v", q, err)
		}
		if _, err := b.s.Suggest(b.ctx, adult, q); err != nil {
			t.Errorf("suggest %q: %v", q, err)
		}
	}
	for q, code := range map[string]string{strings.Repeat("x", 10000): "too_long", "": "required", "bad\xffutf8": "invalid", "nul\x00": "invalid"} {
		if _, err := b.s.Search(b.ctx, adult, q, Filter{}); fieldsOf(err)["q"] != code {
			t.Errorf("search %.20q: %v, want %s", q, err, code)
		}
	}
	if p, _ := b.s.Search(b.ctx, adult, "casablanca", Filter{}); len(p.Items) != 1 {
		t.Fatal("the table survived hostile queries, and so did its rows")
	}
}

func TestCacheInvalidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// A second service on the same database and cache stands for another instance.
	other, err := New(Config{}, Deps{DB: b.s.db, Cache: b.cache, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	tt := b.title(TitleInput{Name: "Before"})
	first, err := other.TitleJSON(b.ctx, adult, tt.ID)
	if err != nil || !strings.Contains(string(first.Body), "Before") || first.ETag != ETag(first.Body) {
		t.Fatalf("first read: %s %s %v", first.Body, first.ETag, err)
	}
	in, _ := b.s.TitleInput(b.ctx, tt.ID)
	in.Name = "After"
	if _, err := b.s.UpdateTitle(b.ctx, tt.ID, in); err != nil {
		t.Fatal(err)
	}
	again, _ := other.TitleJSON(b.ctx, adult, tt.ID)
	if !strings.Contains(string(again.Body), "After") || again.ETag == first.ETag {
		t.Fatalf("stale after update: %s %s", again.Body, again.ETag)
	}
	home, _ := other.HomeJSON(b.ctx, adult)
	if !strings.Contains(string(home.Body), "After") {
		t.Fatalf("home: %s", home.Body)
	}
}

// TestPersonChangesReachSearch: renaming or deleting a person refreshes
// the search text of every title that credits them.
func TestPersonChangesReachSearch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, err := b.s.CreatePerson(b.ctx, PersonInput{Name: "Harold Lloyd"})
	if err != nil {
		t.Fatal(err)
	}
	credit := []CreditInput{{PersonID: p.ID, Role: RoleActor}}
	b.title(TitleInput{Name: "Safety Last", People: credit})
	b.title(TitleInput{Name: "The Freshman", People: credit})
	found := func(q string) string {
		t.Helper()
		page, err := b.s.Search(b.ctx, adult, q, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		n := names(page.Items)
		sort.Strings(n)
		return strings.Join(n, ",")
	}
	if got := found("lloyd"); got != "Safety Last,The Freshman" {
		t.Fatalf("before: %q", got)
	}
	if _, err := b.s.UpdatePerson(b.ctx, p.ID, PersonInput{Name: "Harold Quixote"}); err != nil {
		t.Fatal(err)
	}
	if got := found("quixote"); got != "Safety Last,The Freshman" {
		t.Fatalf("after rename: %q", got)
	}
	if err := b.s.DeletePerson(b.ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if got := found("quixote"); got != "" {
		t.Fatalf("after delete: %q", got)
	}
}

// TestExternalKeyTaken: a title's external key is its own, whether
// another title is created with it or changed to it.
func TestExternalKeyTaken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, other := "noir-1", "noir-2"
	b.title(TitleInput{Name: "The Third Man", ExternalKey: &key})
	if _, err := b.s.CreateTitle(b.ctx, TitleInput{Kind: KindMovie, Name: "Copy", MaturityRating: "PG", ExternalKey: &key}); !errors.Is(err, ErrExternalKey) {
		t.Fatalf("create with a taken key: %v", err)
	}
	second := b.title(TitleInput{Name: "Laura", ExternalKey: &other})
	in, err := b.s.TitleInput(b.ctx, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	in.ExternalKey = &key
	if _, err := b.s.UpdateTitle(b.ctx, second.ID, in); !errors.Is(err, ErrExternalKey) {
		t.Fatalf("update to a taken key: %v", err)
	}
	if n := b.count(`SELECT count(*) FROM content.titles`); n != 2 {
		t.Fatalf("titles: %d, want 2", n)
	}
}
