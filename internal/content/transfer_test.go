package content

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

const catalogHead = `{"format":"streamflix.catalog","version":1,`

// importFile imports file and fails the test on an error.
func (b *testBundle) importFile(file string, opt ImportOptions) ImportReport {
	b.t.Helper()
	rep, err := b.s.Import(b.ctx, strings.NewReader(file), opt)
	if err != nil {
		b.t.Fatalf("import: %v", err)
	}
	return rep
}

func (b *testBundle) count(query string, args ...any) int {
	b.t.Helper()
	var n int
	if err := b.s.db.Get(&n, query, args...); err != nil {
		b.t.Fatal(err)
	}
	return n
}

func (b *testBundle) export() []byte {
	b.t.Helper()
	var buf bytes.Buffer
	if err := b.s.Export(b.ctx, &buf); err != nil {
		b.t.Fatalf("export: %v", err)
	}
	return buf.Bytes()
}

// errorKeys lists a report's errors as "section index key field code".
func errorKeys(rep ImportReport) []string {
	var out []string
	for _, e := range rep.Errors {
		out = append(out, strings.Join([]string{e.Section, itoa(e.Index), e.ExternalKey, e.Field, e.Code}, " "))
	}
	sort.Strings(out)
	return out
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

const goodAndBroken = catalogHead + `
"genres":[{"slug":"drama","name":"Drama"},{"slug":"sci-fi","name":"Sci-Fi"},{"slug":"Not A Slug","name":"Broken"}],
"titles":[
 {"external_key":"metropolis","kind":"movie","name":"Metropolis","release_year":1927,"maturity_rating":"PG","status":"published",
  "available_from":"2001-01-01T00:00:00.123456789Z","genres":["sci-fi","drama"],
  "credits":[{"name":"Fritz Lang","role":"director"},{"name":"Brigitte Helm","role":"actor","character":"Maria"}]},
 {"external_key":"bad-rating","kind":"movie","name":"Bad Rating","maturity_rating":"XXX"},
 {"external_key":"no-name","kind":"movie","maturity_rating":"G","credits":[{"name":"Ghost Person","role":"actor"}]},
 {"external_key":"unknown-genre","kind":"movie","name":"Unknown Genre","maturity_rating":"G","genres":["nope"],
  "credits":[{"name":"Phantom Person","role":"actor"}]},
 {"external_key":"dup-episode","kind":"series","name":"Duplicate Episode","maturity_rating":"TV-G",
  "seasons":[{"number":1,"episodes":[{"number":1,"name":"A"},{"number":1,"name":"B"}]}]},
 {"external_key":"wrong-type","kind":"movie","name":"Wrong Type","maturity_rating":"G","release_year":"1942"},
 "not an object",
 {"external_key":"phantom-creeps","kind":"series","name":"The Phantom Creeps","maturity_rating":"TV-PG","status":"published",
  "credits":[{"name":"Bela Lugosi","role":"actor","character":"Dr. Alex Zorka"},{"name":"Ford Beebe","role":"director"}],
  "seasons":[
   {"number":1,"year":1939,"episodes":[{"number":1,"name":"Death Stalks the Highways"},{"number":2,"name":"Crashing Timbers"},{"number":3,"name":"Invisible Terror"}]},
   {"number":2,"episodes":[{"number":1,"name":"Extra"}]}]}
]}`

func TestImport(t *testing.T) {
	t.Parallel()
	b := setup(t)

	rep := b.importFile(goodAndBroken, ImportOptions{})
	if rep.Titles != (ImportCounts{Created: 2, Failed: 6}) || rep.Genres != (ImportCounts{Created: 2, Failed: 1}) {
		t.Fatalf("counts: titles %+v genres %+v; errors %v", rep.Titles, rep.Genres, errorKeys(rep))
	}
	want := []string{
		"genres 2  slug invalid",
		"titles 1 bad-rating maturity_rating invalid",
		"titles 2 no-name name required",
		"titles 3 unknown-genre genres[0] unknown",
		"titles 4 dup-episode seasons[0].episodes[1].number duplicate",
		"titles 5 wrong-type release_year wrong_type",
		"titles 6   wrong_type",
	}
	if got := errorKeys(rep); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, e := range rep.Errors {
		if e.Detail == "" {
			t.Errorf("error without detail: %+v", e)
		}
	}
	// Broken rows left nothing behind, not even the people they named.
	if n := b.count(`SELECT count(*) FROM content.titles`); n != 2 {
		t.Fatalf("titles: %d", n)
	}
	if n := b.count(`SELECT count(*) FROM content.people WHERE name IN ('Ghost Person', 'Phantom Person')`); n != 0 {
		t.Fatalf("people of broken rows: %d", n)
	}
	if len(rep.TitleIDs) != 2 {
		t.Fatalf("title ids: %v", rep.TitleIDs)
	}
	showID := rep.TitleIDs[1]

	// What a viewer sees: the series with its seasons, found by its people.
	page, err := b.s.Title(b.ctx, kid, showID)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Seasons) != 2 || len(page.Seasons[0].Episodes) != 3 || page.Seasons[0].Episodes[1].Name != "Crashing Timbers" || len(page.People) != 2 {
		t.Fatalf("series page: %+v", page)
	}
	found, err := b.s.Search(b.ctx, adult, "lugosi", Filter{})
	if err != nil || strings.Join(names(found.Items), ",") != "The Phantom Creeps" {
		t.Fatalf("search by person: %v %v", names(found.Items), err)
	}

	// Re-importing the same file changes nothing.
	again := b.importFile(goodAndBroken, ImportOptions{})
	if again.Titles != (ImportCounts{Unchanged: 2, Failed: 6}) || again.Genres != (ImportCounts{Unchanged: 2, Failed: 1}) {
		t.Fatalf("re-import counts: titles %+v genres %+v", again.Titles, again.Genres)
	}
	if strings.Join(again.TitleIDs, ",") != strings.Join(rep.TitleIDs, ",") {
		t.Fatalf("re-import ids %v, first %v", again.TitleIDs, rep.TitleIDs)
	}
	if n := b.count(`SELECT count(*) FROM content.people`); n != 4 {
		t.Fatalf("people after re-import: %d", n)
	}

	// A video attached to an episode outside the file survives a re-import,
	// and one named in the file is ignored (streaming attaches videos);
	// removed seasons, episodes and credits go; kept episodes keep their ids.
	ep1 := page.Seasons[0].Episodes[0]
	video := "video-1"
	if err := b.s.SetVideo(b.ctx, showID, ep1.ID, video, true); err != nil {
		t.Fatal(err)
	}
	changed := catalogHead + `"titles":[
	 {"external_key":"phantom-creeps","kind":"series","name":"The Phantom Creeps","maturity_rating":"TV-PG","status":"published",
	  "credits":[{"name":"Bela Lugosi","role":"actor","character":"Dr. Alex Zorka"}],
	  "seasons":[{"number":1,"year":1939,"episodes":[{"number":1,"name":"Death Stalks the Highways"},{"number":2,"name":"Crashing Timbers","video_id":"not-a-video"}]}]},
	 {"external_key":"metropolis","kind":"series","name":"Metropolis","maturity_rating":"PG"}]}`
	rep = b.importFile(changed, ImportOptions{})
	if rep.Titles != (ImportCounts{Updated: 1, Failed: 1}) || len(rep.Errors) != 1 || rep.Errors[0].Field != "kind" || rep.Errors[0].Code != "immutable" {
		t.Fatalf("update: %+v %+v", rep.Titles, rep.Errors)
	}
	page, err = b.s.Title(b.ctx, adult, showID)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Seasons) != 1 || len(page.Seasons[0].Episodes) != 2 || len(page.People) != 1 {
		t.Fatalf("after update: %+v", page)
	}
	if e := page.Seasons[0].Episodes[0]; e.ID != ep1.ID || e.VideoID == nil || *e.VideoID != video {
		t.Fatalf("episode 1 after update: %+v (was %+v)", e, ep1)
	}
	if e := page.Seasons[0].Episodes[1]; e.VideoID != nil {
		t.Fatalf("the file attached video %q to episode 2", *e.VideoID)
	}
	if !b.s.mustAdmin(t, showID).Playable {
		t.Fatal("series with an episode video is not playable")
	}
	if found, _ := b.s.Search(b.ctx, adult, "beebe", Filter{}); len(found.Items) != 0 {
		t.Fatalf("removed credit still found: %v", names(found.Items))
	}
}

func (s *Service) mustAdmin(t *testing.T, id string) AdminTitle {
	t.Helper()
	a, err := s.AdminTitle(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestImportDryRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	file := catalogHead + `"genres":[{"slug":"war","name":"War"}],"titles":[
	 {"external_key":"wings","kind":"movie","name":"Wings","maturity_rating":"PG-13","genres":["war"],"credits":[{"name":"Clara Bow","role":"actor"}]},
	 {"external_key":"bad","kind":"movie","name":"Bad","maturity_rating":"PG","genres":["nope"]}]}`
	rep := b.importFile(file, ImportOptions{DryRun: true})
	if !rep.DryRun || rep.Titles != (ImportCounts{Created: 1, Failed: 1}) || rep.Genres != (ImportCounts{Created: 1}) || len(rep.TitleIDs) != 0 {
		t.Fatalf("dry run: %+v", rep)
	}
	for _, table := range []string{"titles", "genres", "people"} {
		if n := b.count(`SELECT count(*) FROM content.` + table); n != 0 {
			t.Fatalf("dry run wrote %d rows to %s", n, table)
		}
	}
}

func TestImportBadFiles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	good := `{"external_key":"a","kind":"movie","name":"A","maturity_rating":"G"}`
	// Each case runs on the same catalog, in order.
	for _, tt := range []struct {
		name, file    string
		status        int
		code, field   string
		titlesCreated int
	}{
		{"Empty", ``, http.StatusBadRequest, "malformed_json", "", 0},
		{"NotJSON", `<catalog/>`, http.StatusBadRequest, "malformed_json", "", 0},
		{"Array", `[]`, http.StatusBadRequest, "malformed_json", "", 0},
		{"CutOffAfterARow", catalogHead + `"titles":[` + good + `,{"external_key":"b","na`, http.StatusBadRequest, "malformed_json", "", 1},
		{"TrailingData", catalogHead + `"titles":[]} {}`, http.StatusBadRequest, "malformed_json", "", 0},
		{"NoHeader", `{"titles":[` + good + `]}`, http.StatusUnprocessableEntity, "validation_failed", "format", 0},
		{"OtherFormat", `{"format":"csv","version":1,"titles":[]}`, http.StatusUnprocessableEntity, "validation_failed", "format", 0},
		{"FutureVersion", `{"format":"streamflix.catalog","version":2,"titles":[]}`, http.StatusUnprocessableEntity, "validation_failed", "version", 0},
		{"VersionAsString", `{"format":"streamflix.catalog","version":"1"}`, http.StatusUnprocessableEntity, "validation_failed", "version", 0},
		{"UnknownSection", catalogHead + `"people":[]}`, http.StatusUnprocessableEntity, "validation_failed", "people", 0},
		{"TitlesNotAList", catalogHead + `"titles":{}}`, http.StatusUnprocessableEntity, "validation_failed", "titles", 0},
		{"GenresAfterTitles", catalogHead + `"titles":[],"genres":[]}`, http.StatusUnprocessableEntity, "validation_failed", "genres", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := b.count(`SELECT count(*) FROM content.titles`)
			rep, err := b.s.Import(b.ctx, strings.NewReader(tt.file), ImportOptions{})
			e := apperr.From(err)
			if e == nil || e.HTTPStatus() != tt.status || e.Code != tt.code {
				t.Fatalf("error %v, want %d %s", err, tt.status, tt.code)
			}
			if tt.field != "" && (len(e.Fields) == 0 || e.Fields[0].Field != tt.field) {
				t.Fatalf("fields %+v, want %s", e.Fields, tt.field)
			}
			if rep.Titles.Created != tt.titlesCreated || b.count(`SELECT count(*) FROM content.titles`)-before != tt.titlesCreated {
				t.Fatalf("created %d, want %d", rep.Titles.Created, tt.titlesCreated)
			}
			if tt.titlesCreated > 0 && !strings.Contains(e.Message, "applied (1 created") {
				t.Fatalf("message does not say what was applied: %q", e.Message)
			}
		})
	}
}

// TestAddTitles: a bulk load writes every row or none, and leaves the
// keys that exist alone.
func TestAddTitles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.genre("drama", "Drama")
	row := func(key, name string) NewTitle {
		return NewTitle{CatalogTitle: CatalogTitle{ExternalKey: key, Kind: KindMovie, Name: name, MaturityRating: "PG",
			Status: StatusPublished, Genres: []string{"drama"}, Credits: []CatalogCredit{{Name: "Orson Welles", Role: RoleDirector}}}}
	}
	if _, err := b.s.AddTitles(b.ctx, []NewTitle{row("a", "Kane"), row("b", " ")}); fieldsOf(err)["titles[1].name"] != "required" {
		t.Fatalf("bad row: %v", err)
	}
	bad := row("c", "Othello")
	bad.Genres = []string{"opera"}
	if _, err := b.s.AddTitles(b.ctx, []NewTitle{bad}); fieldsOf(err)["genres[0]"] != "unknown" {
		t.Fatalf("unknown genre: %v", err)
	}
	if n := b.count(`SELECT count(*) FROM content.titles`); n != 0 {
		t.Fatalf("titles after failed loads: %d", n)
	}
	if n, err := b.s.AddTitles(b.ctx, []NewTitle{row("a", "Kane"), row("b", "Macbeth")}); err != nil || n != 2 {
		t.Fatalf("load: %d %v", n, err)
	}
	if n, err := b.s.AddTitles(b.ctx, []NewTitle{row("a", "Changed"), row("d", "Othello")}); err != nil || n != 1 {
		t.Fatalf("reload: %d %v", n, err)
	}
	if p, err := b.s.Search(b.ctx, adult, "welles", Filter{}); err != nil || len(p.Items) != 3 {
		t.Fatalf("search by person: %v %v", names(p.Items), err)
	}
	if n := b.count(`SELECT count(*) FROM content.people WHERE name = 'Orson Welles'`); n != 1 {
		t.Fatalf("people named Orson Welles: %d, want 1", n)
	}
}
