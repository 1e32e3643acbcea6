package content

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestExportRoundTrip(t *testing.T) {
	t.Parallel()
	src := setup(t)
	if rep, err := src.s.SeedDemo(src.ctx); err != nil || rep.Titles.Failed+rep.Genres.Failed > 0 {
		t.Fatalf("demo: %+v %v", rep, err)
	}
	// A title made by hand (no external key) with what only the admin API
	// sets: a draft, an availability window, a video.
	p, err := src.s.CreatePerson(src.ctx, PersonInput{Name: "Harold Lloyd"})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	until := from.Add(90 * 24 * time.Hour)
	y := 1928
	hand, err := src.s.CreateTitle(src.ctx, TitleInput{Kind: KindMovie, Name: "Speedy <& friends>", MaturityRating: "G", ReleaseYear: &y,
		AvailableFrom: &from, AvailableUntil: &until, Genres: []string{"comedy"},
		Languages: []string{"en", "pt-BR"}, Tags: []string{"silent"}, People: []CreditInput{{PersonID: p.ID, Role: RoleActor, Character: "Speedy"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.s.SetVideo(src.ctx, hand.ID, "", "vid-42", true); err != nil {
		t.Fatal(err)
	}
	first := src.export()
	var doc CatalogFile
	if err := json.Unmarshal(first, &doc); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, first)
	}
	if doc.Format != CatalogFormat || doc.Version != 1 || len(doc.Genres) != 15 || len(doc.Titles) != 67 {
		t.Fatalf("export: format %q version %d, %d genres, %d titles", doc.Format, doc.Version, len(doc.Genres), len(doc.Titles))
	}
	if !bytes.Contains(first, []byte(`"external_key":"`+hand.ID+`"`)) {
		t.Fatal("the title made by hand is not exported under its id")
	}

	// Into an empty catalog and out again: the same bytes.
	dst := setup(t)
	rep := dst.importFile(string(first), ImportOptions{})
	if rep.Titles.Created != 67 || rep.Titles.Failed != 0 {
		t.Fatalf("import of the export: %+v %v", rep.Titles, errorKeys(rep))
	}
	// Videos do not travel with the file: the streaming module attaches
	// them. With the same video attached, the export is the same.
	id, _, err := dst.s.VideoTarget(dst.ctx, hand.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := dst.s.AdminTitle(dst.ctx, id); got.VideoID != nil || got.Playable {
		t.Fatalf("an import attached video %v", *got.VideoID)
	}
	if err := dst.s.SetVideo(dst.ctx, id, "", "vid-42", true); err != nil {
		t.Fatal(err)
	}
	if second := dst.export(); !bytes.Equal(first, second) {
		t.Fatalf("round trip differs:\n%s\n---\n%s", first, second)
	}
	// Back into the catalog it came from: nothing changes, and the title
	// made by hand is found by its id rather than copied.
	rep = src.importFile(string(first), ImportOptions{})
	if rep.Titles != (ImportCounts{Unchanged: 67}) {
		t.Fatalf("re-import into the source: %+v %v", rep.Titles, errorKeys(rep))
	}
	if n := src.count(`SELECT count(*) FROM content.titles`); n != 67 {
		t.Fatalf("titles after re-import: %d", n)
	}
}

func TestSeedDemo(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var doc CatalogFile
	if err := json.Unmarshal(DemoCatalog(), &doc); err != nil {
		t.Fatal(err)
	}
	first, err := b.s.SeedDemo(b.ctx)
	if err != nil || first.Titles != (ImportCounts{Created: len(doc.Titles)}) || len(first.Errors) != 0 {
		t.Fatalf("first seed: %+v %v %v", first.Titles, errorKeys(first), err)
	}
	second, err := b.s.SeedDemo(b.ctx)
	if err != nil || second.Titles != (ImportCounts{Unchanged: len(doc.Titles)}) || second.Genres != (ImportCounts{Unchanged: len(doc.Genres)}) {
		t.Fatalf("second seed: %+v %+v %v", second.Titles, second.Genres, err)
	}
	// Every demo title is published with a synopsis, and kids have plenty.
	if n := b.count(`SELECT count(*) FROM content.titles WHERE status <> 'published' OR synopsis = ''`); n != 0 {
		t.Fatalf("%d demo titles unpublished or without synopsis", n)
	}
	home, err := b.s.Home(b.ctx, kid)
	if err != nil || len(home.Rows) < 5 || len(home.Rows[0].Items) != rowItems {
		t.Fatalf("kids home: %d rows, %v", len(home.Rows), err)
	}
	series, err := b.s.Titles(b.ctx, kid, Filter{Kind: KindSeries, Limit: 100})
	if err != nil || len(series.Items) < 4 {
		t.Fatalf("series a kid sees: %v %v", names(series.Items), err)
	}
}
