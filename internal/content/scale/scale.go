// Package scale generates catalogs for load tests and search benchmarks:
// many titles, drawn from word lists with a skew so that some words and
// people are common and most rare, as in a real catalog. It writes them
// through content's API alone (AddTitles).
//
// Title n (from 0) has external key scale-<n> and depends only on the
// seed and n, so seeding 1000 after 500 adds titles 500 to 999, and a
// rerun adds nothing.
package scale

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/streamflix/streamflix/internal/content"
)

const (
	// people is the size of the generated people pool; titles draw from
	// it with a skew, so some people appear in many titles.
	scalePeople = 20000
	// batch is how many titles one AddTitles call writes.
	batch = 5000
)

// Genres are the genres generated titles belong to (and the demo
// catalog's): created when missing, left as they are otherwise.
var Genres = []content.GenreInput{
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

// Catalog is what scale needs from content (*content.Service).
type Catalog interface {
	CreateGenre(ctx context.Context, in content.GenreInput) (content.Genre, error)
	AddTitles(ctx context.Context, ts []content.NewTitle) (int, error)
	Analyze(ctx context.Context) error
}

// Report says what a seeding did.
type Report struct {
	Requested int
	Created   int
	Took      time.Duration
}

// Seed makes sure titles scale-0 to scale-<n-1>, generated from seed,
// exist and are published. Batches of titles are written by a few
// AddTitles calls at once (one per core, at most four); the catalog's
// statistics are refreshed at the end when titles were created.
func Seed(ctx context.Context, c Catalog, n int, seed uint64) (Report, error) {
	start := time.Now()
	rep := Report{Requested: n}
	if n < 0 {
		return rep, fmt.Errorf("seed scale: n must not be negative, got %d", n)
	}
	for _, g := range Genres {
		if _, err := c.CreateGenre(ctx, g); err != nil && !errors.Is(err, content.ErrGenreTaken) {
			return rep, fmt.Errorf("seed scale: genre %s: %w", g.Slug, err)
		}
	}
	var created atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(min(runtime.GOMAXPROCS(0), 4))
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		g.Go(func() error {
			k, err := c.AddTitles(gctx, Titles(seed, lo, hi))
			if err != nil {
				return fmt.Errorf("seed scale: titles %d to %d: %w", lo, hi-1, err)
			}
			created.Add(int64(k))
			return nil
		})
	}
	err := g.Wait()
	rep.Created = int(created.Load())
	if err != nil {
		return rep, err
	}
	if rep.Created > 0 {
		if err := c.Analyze(ctx); err != nil {
			return rep, fmt.Errorf("seed scale: %w", err)
		}
	}
	rep.Took = time.Since(start)
	return rep, nil
}

// Titles generates titles lo to hi-1 of seed, published.
func Titles(seed uint64, lo, hi int) []content.NewTitle {
	now := time.Now()
	out := make([]content.NewTitle, 0, hi-lo)
	for k := lo; k < hi; k++ {
		out = append(out, generateTitle(seed, k).catalog(seed, now))
	}
	return out
}

// catalog is t in the catalog format, published ageSeconds before now.
func (t scaleTitle) catalog(seed uint64, now time.Time) content.NewTitle {
	year := t.year
	ct := content.CatalogTitle{ExternalKey: t.key, Kind: t.kind, Name: t.name, Synopsis: t.synopsis, ReleaseYear: &year,
		RuntimeMinutes: t.runtime, MaturityRating: t.rating, Languages: t.languages, Tags: t.tags,
		Status: content.StatusPublished, Genres: t.genres}
	for i, c := range t.credits {
		pos := i
		ct.Credits = append(ct.Credits, content.CatalogCredit{Name: scalePerson(seed, c.person), Role: c.role, Character: c.character, Position: &pos})
	}
	for _, s := range t.seasons {
		sy := s.year
		cs := content.CatalogSeason{Number: s.number, Year: &sy}
		for _, e := range s.episodes {
			rt := e.runtime
			cs.Episodes = append(cs.Episodes, content.CatalogEpisode{Number: e.number, Name: e.name, Synopsis: e.synopsis, RuntimeMinutes: &rt})
		}
		ct.Seasons = append(ct.Seasons, cs)
	}
	return content.NewTitle{CatalogTitle: ct, PublishedAt: now.Add(-time.Duration(t.ageSeconds) * time.Second)}
}

type scaleTitle struct {
	key, kind, name, synopsis, rating string
	year                              int
	runtime                           *int
	languages, tags, genres           []string
	ageSeconds                        int
	credits                           []scaleCredit
	seasons                           []scaleSeason
}

type scaleCredit struct {
	person    int
	role      string
	character string
}

type scaleSeason struct {
	number   int
	year     int
	episodes []scaleEpisode
}

type scaleEpisode struct {
	name, synopsis  string
	number, runtime int
}

// skewed picks an index below n, small ones far more often (roughly
// Zipf-like), so that some words and people are common and most rare.
func skewed(r *rand.Rand, n int) int {
	u := r.Float64()
	return min(int(float64(n)*u*u*u), n-1)
}

func pick(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

func pickSkewed(r *rand.Rand, list []string) string { return list[skewed(r, len(list))] }

// skipID draws what an id took when the generator chose ids itself
// (content now does), so that every later draw, and so the titles of a
// seed, stay as they were.
func skipID(r *rand.Rand) {
	r.Uint64()
	r.Uint64()
}

func generateTitle(seed uint64, k int) scaleTitle {
	r := rand.New(rand.NewPCG(seed, uint64(k)))
	skipID(r)
	t := scaleTitle{key: "scale-" + strconv.Itoa(k), kind: content.KindMovie}
	if r.IntN(100) < 15 {
		t.kind = content.KindSeries
	}
	t.name = scaleName(r)
	t.synopsis = scaleSynopsis(r)
	// Years lean recent, as a real catalog's do.
	t.year = 2025 - int(105*math.Pow(r.Float64(), 1.6))
	if t.kind == content.KindMovie {
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
		g := Genres[skewed(r, len(Genres))].Slug
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
			name := scalePerson(seed, p)
			key := part{name, role}
			if !taken[key] {
				taken[key] = true
				t.credits = append(t.credits, scaleCredit{person: p, role: role, character: character})
				return
			}
		}
	}
	if t.kind == content.KindMovie {
		add(content.RoleDirector, "")
	} else {
		add(content.RoleCreator, "")
	}
	for range 1 + r.IntN(5) {
		add(content.RoleActor, pick(r, scaleFirst)+" "+pick(r, scaleLast))
	}
	if r.IntN(100) < 30 {
		add(content.RoleWriter, "")
	}

	if t.kind == content.KindSeries {
		for sn := 1; sn <= 1+r.IntN(2); sn++ {
			skipID(r)
			se := scaleSeason{number: sn, year: min(t.year+sn-1, 2025)}
			for en := 1; en <= 3+r.IntN(6); en++ {
				skipID(r)
				se.episodes = append(se.episodes, scaleEpisode{number: en,
					name: pick(r, scaleEpisodeNames) + " " + pickSkewed(r, scaleNouns), synopsis: scaleSynopsis(r), runtime: 20 + r.IntN(41)})
			}
			t.seasons = append(t.seasons, se)
		}
	}
	return t
}

// scalePerson returns the name of person p of the pool: the same for the
// same seed on every run.
func scalePerson(seed uint64, p int) string {
	r := rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, uint64(p)))
	skipID(r)
	return pickSkewed(r, scaleFirst) + " " + pickSkewed(r, scaleLast)
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
