package scale

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/content"
	"github.com/streamflix/streamflix/internal/platform/pgtest"
)

type testBundle struct {
	t   *testing.T
	s   *content.Service
	db  *sqlx.DB
	ctx context.Context
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	db := pgtest.NewDB(t)
	s, err := content.New(content.Config{}, content.Deps{DB: db, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return &testBundle{t: t, s: s, db: db, ctx: context.Background()}
}

func (b *testBundle) count(query string) int {
	b.t.Helper()
	var n int
	if err := b.db.Get(&n, query); err != nil {
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

func (b *testBundle) importFile(file []byte) content.ImportReport {
	b.t.Helper()
	rep, err := b.s.Import(b.ctx, bytes.NewReader(file), content.ImportOptions{})
	if err != nil {
		b.t.Fatalf("import: %v", err)
	}
	return rep
}

// errorKeys lists a report's errors as "index key field code".
func errorKeys(rep content.ImportReport) []string {
	var out []string
	for _, e := range rep.Errors {
		out = append(out, fmt.Sprintf("%d %s %s %s", e.Index, e.ExternalKey, e.Field, e.Code))
	}
	return out
}

func TestSeedScale(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rep, err := Seed(b.ctx, b.s, 500, 7)
	if err != nil || rep.Created != 500 {
		t.Fatalf("seed: %+v %v", rep, err)
	}
	if rep, err := Seed(b.ctx, b.s, 500, 7); err != nil || rep.Created != 0 {
		t.Fatalf("rerun: %+v %v", rep, err)
	}
	if rep, err := Seed(b.ctx, b.s, 600, 7); err != nil || rep.Created != 100 {
		t.Fatalf("grow to 600: %+v %v", rep, err)
	}
	// Derived columns are what refreshDerived would make them.
	if n := b.count(`SELECT count(*) FROM content.titles t WHERE people_text <> coalesce((SELECT string_agg(DISTINCT p.name, ' ')
		FROM content.title_people tp JOIN content.people p ON p.id = tp.person_id WHERE tp.title_id = t.id), '') OR playable`); n != 0 {
		t.Fatalf("%d titles with stale derived columns", n)
	}
	for _, q := range []string{
		`SELECT count(*) FROM content.titles WHERE status = 'published' AND release_year BETWEEN 1920 AND 2025`,
		`SELECT count(DISTINCT t.id) FROM content.titles t JOIN content.title_genres g ON g.title_id = t.id`,
		`SELECT count(DISTINCT t.id) FROM content.titles t JOIN content.title_people p ON p.title_id = t.id`,
	} {
		if n := b.count(q); n != 600 {
			t.Fatalf("%s: %d, want 600", q, n)
		}
	}
	if n := b.count(`SELECT count(DISTINCT maturity_level) FROM content.titles`); n != 5 {
		t.Fatalf("maturity levels: %d, want all 5", n)
	}
	if n := b.count(`SELECT count(*) FROM content.titles t WHERE kind = 'series' AND EXISTS (SELECT 1 FROM content.seasons s
		JOIN content.episodes e ON e.season_id = s.id WHERE s.title_id = t.id)`); n < 30 {
		t.Fatalf("series with episodes: %d", n)
	}
	// Generated titles survive an export and import unchanged.
	exported := b.export()
	copied := setup(t)
	if rep := copied.importFile(exported); rep.Titles != (content.ImportCounts{Created: 600}) {
		t.Fatalf("import of the generated catalog: %+v %v", rep.Titles, errorKeys(rep))
	}
	if again := copied.export(); !bytes.Equal(exported, again) {
		t.Fatal("generated catalog changes in an export and import")
	}

	// The same seed gives the same catalog.
	other := setup(t)
	if _, err := Seed(other.ctx, other.s, 50, 7); err != nil {
		t.Fatal(err)
	}
	// Keys already present are left alone, whatever the seed.
	if rep, err := Seed(other.ctx, other.s, 1, 8); err != nil || rep.Created != 0 {
		t.Fatalf("other seed over existing keys: %+v %v", rep, err)
	}
	sig := func(b *testBundle) string {
		var s string
		if err := b.db.Get(&s, `SELECT string_agg(external_key || ':' || name || ':' || people_text, '|' ORDER BY external_key)
			FROM content.titles WHERE external_key IN ('scale-0', 'scale-1', 'scale-49')`); err != nil {
			b.t.Fatal(err)
		}
		return s
	}
	if a, o := sig(b), sig(other); a != o {
		t.Fatalf("seed 7 twice:\n%s\n%s", a, o)
	}
}
