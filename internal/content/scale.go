package content

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/sync/errgroup"

	"github.com/streamflix/streamflix/internal/platform/pg"
)

// Scale seeding: many generated titles for load tests and search
// benchmarks. Title n (from 0) has external key scale-<n> and depends only
// on the seed and n, so --scale 1000 after --scale 500 adds titles 500 to
// 999, and a rerun adds nothing.
const (
	// scalePeople is the size of the generated people pool; titles draw
	// from it with a skew, so some people appear in many titles.
	scalePeople = 20000
	// scaleBatch is how many titles one transaction writes.
	scaleBatch = 5000
)

// ScaleGenres are the genres generated titles belong to (and the demo
// catalog's): created when missing, left as they are otherwise.
var ScaleGenres = []GenreInput{
	{Slug: "action-adventure", Name: "Action & Adventure"},
	{Slug: "animation", Name: "Animation"},
	{Slug: "comedy", Name: "Comedy"},
	{Slug: "documentary", Name: "Documentary"},
	{Slug: "drama", Name: "Drama"},
	{Slug: "family", Name: "Family"},
	{Slug: "film-noir", Name: "Film Noir"},
	{Slug: "horror", Name: "Horror"},
	{Slug: "musical", Name: "Musical"},
	{Slug: "romance", Name: "Romance"},
	{Slug: "sci-fi", Name: "Sci-Fi"},
	{Slug: "silent", Name: "Silent Era"},
	{Slug: "thriller", Name: "Thriller"},
	{Slug: "war", Name: "War"},
	{Slug: "western", Name: "Western"},
}

// ScaleReport says what a scale seeding did.
type ScaleReport struct {
	Requested int
	Created   int
	Took      time.Duration
}

// SeedScale makes sure titles scale-0 to scale-<n-1>, generated from seed,
// exist and are published. Batches of titles are written by a few
// connections at once (one per core, at most four), each with COPY into
// staging tables and set-based inserts in one transaction; the derived
// columns (people_text, playable) are computed as refreshDerived would.
// The cached catalog is invalidated at the end.
func (s *Service) SeedScale(ctx context.Context, n int, seed uint64) (ScaleReport, error) {
	start := time.Now()
	rep := ScaleReport{Requested: n}
	if n < 0 {
		return rep, fmt.Errorf("seed scale: n must not be negative, got %d", n)
	}
	if err := s.ensureGenres(ctx, ScaleGenres); err != nil {
		return rep, err
	}
	var created atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(min(runtime.GOMAXPROCS(0), 4))
	for lo := 0; lo < n; lo += scaleBatch {
		hi := min(lo+scaleBatch, n)
		g.Go(func() error {
			c, err := s.scaleBatch(gctx, seed, generateScale(seed, lo, hi))
			if err != nil {
				return fmt.Errorf("seed scale: titles %d to %d: %w", lo, hi-1, err)
			}
			created.Add(int64(c))
			return nil
		})
	}
	err := g.Wait()
	rep.Created = int(created.Load())
	if rep.Created > 0 {
		s.bump(ctx)
	}
	if err != nil {
		return rep, err
	}
	if rep.Created > 0 {
		// Fresh statistics, so that the first searches after a bulk load
		// are planned for the table as it now is.
		if _, err := s.db.ExecContext(ctx, `ANALYZE content.titles, content.title_genres, content.title_people, content.people,
			content.seasons, content.episodes`); err != nil {
			return rep, fmt.Errorf("seed scale: analyze: %w", err)
		}
	}
	rep.Took = time.Since(start)
	return rep, nil
}

// scaleBatch writes one batch: its people in a short transaction of their
// own (so that concurrent batches sharing people wait on each other only
// briefly), then its titles.
func (s *Service) scaleBatch(ctx context.Context, seed uint64, ts []scaleTitle) (int, error) {
	people := map[int]bool{}
	for _, t := range ts {
		for _, c := range t.credits {
			people[c.person] = true
		}
	}
	ps := make([]int, 0, len(people))
	for p := range people {
		ps = append(ps, p)
	}
	personID := make(map[int]string, len(ps))
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE scale_people (id uuid, name text) ON COMMIT DROP`); err != nil {
			return fmt.Errorf("staging table: %w", err)
		}
		err := copyRows(ctx, tx, "scale_people", []string{"id", "name"}, func(row func(...any) error) error {
			for _, p := range ps {
				id, name := scalePerson(seed, p)
				personID[p] = id
				if err := row(id, name); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		// One order for every batch, so that two batches inserting the
		// same people cannot deadlock.
		if _, err := tx.ExecContext(ctx, `INSERT INTO content.people (id, name) SELECT id, name FROM scale_people ORDER BY id
			ON CONFLICT (id) DO NOTHING`); err != nil {
			return fmt.Errorf("insert people: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var created int
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		created, err = writeScaleBatch(ctx, tx, personID, ts)
		return err
	})
	return created, err
}

// ensureGenres creates the genres whose slugs are missing.
func (s *Service) ensureGenres(ctx context.Context, gs []GenreInput) error {
	ids, slugs, names := make([]string, len(gs)), make([]string, len(gs)), make([]string, len(gs))
	for i, g := range gs {
		ids[i], slugs[i], names[i] = newID(), g.Slug, g.Name
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO content.genres (id, slug, name)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) ON CONFLICT (slug) DO NOTHING`,
		pq.StringArray(ids), pq.StringArray(slugs), pq.StringArray(names)); err != nil {
		return fmt.Errorf("create genres: %w", err)
	}
	return nil
}

type scaleTitle struct {
	id, key, kind, name, synopsis, rating string
	year                                  int
	runtime                               *int
	languages, tags, genres               []string
	ageSeconds                            int
	credits                               []scaleCredit
	seasons                               []scaleSeason
}

type scaleCredit struct {
	person    int
	role      string
	character string
}

type scaleSeason struct {
	id       string
	number   int
	year     int
	episodes []scaleEpisode
}

type scaleEpisode struct {
	id, name, synopsis string
	number, runtime    int
}

// generateScale generates titles lo to hi-1.
func generateScale(seed uint64, lo, hi int) []scaleTitle {
	out := make([]scaleTitle, 0, hi-lo)
	for k := lo; k < hi; k++ {
		out = append(out, generateTitle(seed, k))
	}
	return out
}

// skewed picks an index below n, small ones far more often (roughly
// Zipf-like), so that some words and people are common and most rare.
func skewed(r *rand.Rand, n int) int {
	u := r.Float64()
	return min(int(float64(n)*u*u*u), n-1)
}

func pick(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

func pickSkewed(r *rand.Rand, list []string) string { return list[skewed(r, len(list))] }

// randomUUID is a version 4 UUID drawn from r, so that ids are the same
// on every run with the same seed.
func randomUUID(r *rand.Rand) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], r.Uint64())
	binary.LittleEndian.PutUint64(b[8:], r.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return uuid.UUID(b).String()
}

func generateTitle(seed uint64, k int) scaleTitle {
	r := rand.New(rand.NewPCG(seed, uint64(k)))
	t := scaleTitle{id: randomUUID(r), key: "scale-" + strconv.Itoa(k), kind: KindMovie}
	if r.IntN(100) < 15 {
		t.kind = KindSeries
	}
	t.name = scaleName(r)
	t.synopsis = scaleSynopsis(r)
	// Years lean recent, as a real catalog's do.
	t.year = 2025 - int(105*math.Pow(r.Float64(), 1.6))
	if t.kind == KindMovie {
		t.rating = pick(r, []string{"G", "PG", "PG", "PG-13", "PG-13", "R", "R", "NC-17"})
		rt := 70 + r.IntN(111)
		t.runtime = &rt
	} else {
		t.rating = pick(r, []string{"TV-Y", "TV-Y7", "TV-G", "TV-PG", "TV-PG", "TV-14", "TV-14", "TV-MA"})
	}
	t.languages = []string{pickSkewed(r, scaleLanguages)}
	if r.IntN(100) < 20 {
		if l := pickSkewed(r, scaleLanguages); l != t.languages[0] {
			t.languages = append(t.languages, l)
		}
	}
	seen := map[string]bool{}
	for range 1 + r.IntN(3) {
		g := ScaleGenres[skewed(r, len(ScaleGenres))].Slug
		if !seen[g] {
			seen[g] = true
			t.genres = append(t.genres, g)
		}
	}
	tagSeen := map[string]bool{}
	for range r.IntN(4) {
		tg := pickSkewed(r, scaleTags)
		if !tagSeen[tg] {
			tagSeen[tg] = true
			t.tags = append(t.tags, tg)
		}
	}
	t.ageSeconds = r.IntN(3 * 365 * 24 * 3600)

	// A director (or creator), a few actors, sometimes a writer. A name
	// has each role at most once in a title: the catalog format names
	// people, so two namesakes in one role could not be exported and
	// imported back.
	type part struct{ name, role string }
	taken := map[part]bool{}
	add := func(role string, character string) {
		for range 4 {
			p := skewed(r, scalePeople)
			_, name := scalePerson(seed, p)
			key := part{name, role}
			if !taken[key] {
				taken[key] = true
				t.credits = append(t.credits, scaleCredit{person: p, role: role, character: character})
				return
			}
		}
	}
	if t.kind == KindMovie {
		add(RoleDirector, "")
	} else {
		add(RoleCreator, "")
	}
	for range 1 + r.IntN(5) {
		add(RoleActor, pick(r, scaleFirst)+" "+pick(r, scaleLast))
	}
	if r.IntN(100) < 30 {
		add(RoleWriter, "")
	}

	if t.kind == KindSeries {
		for sn := 1; sn <= 1+r.IntN(2); sn++ {
			se := scaleSeason{id: randomUUID(r), number: sn, year: min(t.year+sn-1, 2025)}
			for en := 1; en <= 3+r.IntN(6); en++ {
				se.episodes = append(se.episodes, scaleEpisode{id: randomUUID(r), number: en,
					name: pick(r, scaleEpisodeNames) + " " + pickSkewed(r, scaleNouns), synopsis: scaleSynopsis(r), runtime: 20 + r.IntN(41)})
			}
			t.seasons = append(t.seasons, se)
		}
	}
	return t
}

// scalePerson returns person p of the pool: the same id and name for the
// same seed on every run.
func scalePerson(seed uint64, p int) (id, name string) {
	r := rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, uint64(p)))
	return randomUUID(r), pickSkewed(r, scaleFirst) + " " + pickSkewed(r, scaleLast)
}

func scaleName(r *rand.Rand) string {
	adj, noun, place := pickSkewed(r, scaleAdjectives), pickSkewed(r, scaleNouns), pickSkewed(r, scalePlaces)
	switch r.IntN(9) {
	case 0:
		return "The " + adj + " " + noun
	case 1:
		return noun + " of " + place
	case 2:
		return adj + " " + noun
	case 3:
		return "The " + noun + " and the " + pickSkewed(r, scaleNouns)
	case 4:
		return pick(r, scaleFirst) + "'s " + noun
	case 5:
		return "A " + noun + " in " + place
	case 6:
		return noun
	case 7:
		return "Return to " + place
	default:
		return "The Last " + noun
	}
}

func scaleSynopsis(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString("A " + pickSkewed(r, scaleAdjectives2) + " " + pickSkewed(r, scaleJobs) + " in " + pickSkewed(r, scalePlaces) + " " +
		pick(r, scaleVerbs) + " " + pick(r, scaleObjects) + ". ")
	b.WriteString(pick(r, scaleTwists) + " " + pick(r, scaleStakes) + ".")
	return b.String()
}

// writeScaleBatch writes generated titles in tx: COPY into staging tables,
// then set-based inserts of the titles not yet present. It returns how
// many titles it created.
func writeScaleBatch(ctx context.Context, tx *sqlx.Tx, personID map[int]string, ts []scaleTitle) (int, error) {
	if _, err := tx.ExecContext(ctx, `
		CREATE TEMP TABLE scale_titles (id uuid, external_key text, kind text, name text, synopsis text, release_year int,
			runtime_minutes int, maturity_rating text, languages text[], tags text[], age_seconds int) ON COMMIT DROP;
		CREATE TEMP TABLE scale_genres (title_id uuid, slug text) ON COMMIT DROP;
		CREATE TEMP TABLE scale_credits (title_id uuid, person_id uuid, role text, character text, position int) ON COMMIT DROP;
		CREATE TEMP TABLE scale_seasons (id uuid, title_id uuid, number int, year int) ON COMMIT DROP;
		CREATE TEMP TABLE scale_episodes (id uuid, season_id uuid, number int, name text, synopsis text, runtime_minutes int) ON COMMIT DROP;
		CREATE TEMP TABLE scale_new (id uuid PRIMARY KEY) ON COMMIT DROP`); err != nil {
		return 0, fmt.Errorf("staging tables: %w", err)
	}
	err := copyRows(ctx, tx, "scale_titles", []string{"id", "external_key", "kind", "name", "synopsis", "release_year", "runtime_minutes",
		"maturity_rating", "languages", "tags", "age_seconds"}, func(row func(...any) error) error {
		for _, t := range ts {
			var rt any
			if t.runtime != nil {
				rt = int64(*t.runtime)
			}
			if err := row(t.id, t.key, t.kind, t.name, t.synopsis, int64(t.year), rt, t.rating,
				pq.StringArray(t.languages), pq.StringArray(nonNil(t.tags)), int64(t.ageSeconds)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	err = copyRows(ctx, tx, "scale_genres", []string{"title_id", "slug"}, func(row func(...any) error) error {
		for _, t := range ts {
			for _, g := range t.genres {
				if err := row(t.id, g); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	err = copyRows(ctx, tx, "scale_credits", []string{"title_id", "person_id", "role", "character", "position"}, func(row func(...any) error) error {
		for _, t := range ts {
			for i, c := range t.credits {
				if err := row(t.id, personID[c.person], c.role, c.character, int64(i)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	err = copyRows(ctx, tx, "scale_seasons", []string{"id", "title_id", "number", "year"}, func(row func(...any) error) error {
		for _, t := range ts {
			for _, s := range t.seasons {
				if err := row(s.id, t.id, int64(s.number), int64(s.year)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	err = copyRows(ctx, tx, "scale_episodes", []string{"id", "season_id", "number", "name", "synopsis", "runtime_minutes"}, func(row func(...any) error) error {
		for _, t := range ts {
			for _, s := range t.seasons {
				for _, e := range s.episodes {
					if err := row(e.id, s.id, int64(e.number), e.name, e.synopsis, int64(e.runtime)); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}

	// people_text is computed with refreshDerived's expression; playable
	// stays false (no video is attached).
	steps := []struct{ what, sql string }{
		{"titles", `WITH ins AS (
			INSERT INTO content.titles (id, external_key, kind, name, synopsis, release_year, runtime_minutes, maturity_rating,
				languages, tags, status, published_at, people_text)
			SELECT s.id, s.external_key, s.kind, s.name, s.synopsis, s.release_year, s.runtime_minutes, s.maturity_rating,
				s.languages, s.tags, 'published', now() - s.age_seconds * interval '1 second', coalesce(pt.people_text, '')
			FROM scale_titles s
			LEFT JOIN (SELECT c.title_id, string_agg(DISTINCT p.name, ' ') AS people_text
				FROM scale_credits c JOIN content.people p ON p.id = c.person_id GROUP BY c.title_id) pt ON pt.title_id = s.id
			WHERE NOT EXISTS (SELECT 1 FROM content.titles t WHERE t.external_key = s.external_key)
			ON CONFLICT DO NOTHING
			RETURNING id)
			INSERT INTO scale_new SELECT id FROM ins`},
		{"genres", `INSERT INTO content.title_genres (title_id, genre_id)
			SELECT sg.title_id, g.id FROM scale_genres sg JOIN scale_new n ON n.id = sg.title_id JOIN content.genres g ON g.slug = sg.slug`},
		{"credits", `INSERT INTO content.title_people (title_id, person_id, role, character, position)
			SELECT c.title_id, c.person_id, c.role, c.character, c.position FROM scale_credits c JOIN scale_new n ON n.id = c.title_id`},
		{"seasons", `INSERT INTO content.seasons (id, title_id, number, year)
			SELECT s.id, s.title_id, s.number, s.year FROM scale_seasons s JOIN scale_new n ON n.id = s.title_id`},
		{"episodes", `INSERT INTO content.episodes (id, season_id, number, name, synopsis, runtime_minutes)
			SELECT e.id, e.season_id, e.number, e.name, e.synopsis, e.runtime_minutes
			FROM scale_episodes e JOIN scale_seasons s ON s.id = e.season_id JOIN scale_new n ON n.id = s.title_id`},
	}
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.sql); err != nil {
			return 0, fmt.Errorf("insert %s: %w", st.what, err)
		}
	}
	var created int
	if err := tx.GetContext(ctx, &created, `SELECT count(*) FROM scale_new`); err != nil {
		return 0, fmt.Errorf("count new titles: %w", err)
	}
	return created, nil
}

// copyRows streams rows into table with COPY; fill calls row once per row.
func copyRows(ctx context.Context, tx *sqlx.Tx, table string, cols []string, fill func(row func(...any) error) error) error {
	stmt, err := tx.PrepareContext(ctx, "COPY "+table+" ("+strings.Join(cols, ", ")+") FROM STDIN")
	if err != nil {
		return fmt.Errorf("copy %s: %w", table, err)
	}
	defer stmt.Close()
	err = fill(func(vals ...any) error {
		_, err := stmt.ExecContext(ctx, vals...)
		return err
	})
	if err != nil {
		return fmt.Errorf("copy %s: %w", table, err)
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return fmt.Errorf("copy %s: %w", table, err)
	}
	return nil
}
