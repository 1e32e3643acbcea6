package content

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// titleRecord is one title as writeTitles stores it: its own columns and
// its parts, with people resolved to ids.
type titleRecord struct {
	id string
	// existing updates the stored title with this id (the caller holds it
	// locked); otherwise the title is created.
	existing       bool
	externalKey    *string
	kind           string // of a new title; a stored title keeps its own
	name           string
	originalName   string
	synopsis       string
	releaseYear    *int
	runtimeMinutes *int
	rating         string
	languages      []string
	tags           []string
	// status is draft or published; "" keeps a stored title's.
	status string
	// publishedAt is when a new published title was first published (nil:
	// the time of the write). A stored title keeps its first publication.
	publishedAt    *time.Time
	availableFrom  *time.Time
	availableUntil *time.Time
	videoID        *string
	genres         []string // slugs
	credits        []credit
	// withSeasons makes the title's seasons and episodes those of seasons,
	// matched by number so that ids (and what refers to them) survive;
	// otherwise they are left as they are.
	withSeasons bool
	seasons     []CatalogSeason
}

// credit is one row of content.title_people.
type credit struct {
	PersonID  string
	Role      string
	Character string
	Position  int
}

// writeTitles is the one place that writes titles: their rows, genres,
// credits, seasons and episodes, and the derived columns search and
// browse read (people_text, playable). It writes a whole batch with a
// statement per table, so admin writes and imports call it with one
// title and bulk loads with thousands. The derived columns are computed
// with the title's row, from the batch, as refreshDerived would compute
// them from the stored parts: each row is written once.
//
// written[i] reports whether recs[i] was written: a new title whose
// external key another title has is left out. It returns ErrExternalKey
// when an update gives a title a key another has, and a validation error
// naming genres[i] or people[i].person_id for a slug or person id that
// does not exist (the fields are those of the first title at fault; the
// caller's transaction must then roll back).
func writeTitles(ctx context.Context, tx *sqlx.Tx, recs []titleRecord) (written []bool, err error) {
	written = make([]bool, len(recs))
	if len(recs) == 0 {
		return written, nil
	}
	parts := partsOf(recs)
	cols := newTitleColumns(recs)
	// people_text with refreshDerived's expression, over the batch's credits.
	src := `FROM unnest(` + cols.placeholders(1) + `) AS x (id, existing, external_key, kind, name, original_name, synopsis,
			release_year, runtime_minutes, maturity_rating, languages, tags, status, published_at, available_from, available_until, video_id,
			playable)
		LEFT JOIN (SELECT c.title_id, string_agg(DISTINCT p.name, ' ') AS people_text
			FROM unnest($19::uuid[], $20::uuid[]) AS c (title_id, person_id) JOIN content.people p ON p.id = c.person_id
			GROUP BY c.title_id) pt ON pt.title_id = x.id`
	args := append(cols.args(), pq.StringArray(parts.creditTitles), pq.StringArray(parts.creditPeople))
	var created []string
	if cols.anyNew {
		if err := tx.SelectContext(ctx, &created, `INSERT INTO content.titles (id, external_key, kind, name, original_name, synopsis,
				release_year, runtime_minutes, maturity_rating, languages, tags, status, published_at, available_from, available_until,
				video_id, playable, people_text)
			SELECT x.id, x.external_key, x.kind, x.name, x.original_name, x.synopsis, x.release_year, x.runtime_minutes,
				x.maturity_rating, x.languages::text[], x.tags::text[], coalesce(nullif(x.status, ''), 'draft'),
				CASE WHEN x.status = 'published' THEN coalesce(x.published_at, clock_timestamp()) END,
				x.available_from, x.available_until, x.video_id, x.playable, coalesce(pt.people_text, '')
			`+src+` WHERE NOT x.existing
			ON CONFLICT DO NOTHING
			RETURNING id::text`, args...); err != nil {
			return nil, mapErr(fmt.Errorf("insert titles: %w", err))
		}
	}
	if cols.anyExisting {
		// The first publication is what orders browse lists: keep it.
		if _, err := tx.ExecContext(ctx, `UPDATE content.titles t SET external_key = x.external_key, name = x.name,
				original_name = x.original_name, synopsis = x.synopsis, release_year = x.release_year,
				runtime_minutes = x.runtime_minutes, maturity_rating = x.maturity_rating, languages = x.languages::text[],
				tags = x.tags::text[], status = coalesce(nullif(x.status, ''), t.status),
				published_at = CASE WHEN coalesce(nullif(x.status, ''), t.status) = 'published'
					THEN coalesce(t.published_at, clock_timestamp()) ELSE t.published_at END,
				available_from = x.available_from, available_until = x.available_until, video_id = x.video_id,
				playable = coalesce(x.playable, t.playable), people_text = coalesce(pt.people_text, ''), updated_at = now()
			`+src+` WHERE x.existing AND t.id = x.id`, args...); err != nil {
			return nil, mapErr(fmt.Errorf("update titles: %w", err))
		}
	}
	isNew := make(map[string]bool, len(created))
	for _, id := range created {
		isNew[id] = true
	}
	var existing []string
	keep := recs[:0:0]
	for i, r := range recs {
		if written[i] = r.existing || isNew[r.id]; written[i] {
			keep = append(keep, r)
			if r.existing {
				existing = append(existing, r.id)
			}
		}
	}
	if len(keep) < len(recs) {
		parts = partsOf(keep)
	}
	if err := checkReferences(ctx, tx, parts); err != nil {
		return nil, err
	}
	if err := parts.write(ctx, tx, existing); err != nil {
		return nil, err
	}
	return written, nil
}

// playable is the title's playable flag as refreshDerived would compute
// it once the record is written, or nil when it depends on parts the
// record leaves as they are (a stored series' episodes), which the write
// does not change.
func (r titleRecord) playable() *bool {
	on := r.videoID != nil
	switch {
	case r.kind == KindMovie:
	case r.withSeasons:
		for _, s := range r.seasons {
			for _, e := range s.Episodes {
				on = on || e.VideoID != nil
			}
		}
	case r.existing:
		return nil
	}
	return &on
}

// titleColumns are the batch's title rows as one array per column.
type titleColumns struct {
	ids, keys, kinds, names, originalNames, synopses, ratings, languages, tags, statuses, videos []*string
	existing                                                                                     []bool
	playable                                                                                     []*bool
	years, runtimes                                                                              []*int
	published, from, until                                                                       []*string
	anyNew, anyExisting                                                                          bool
}

func newTitleColumns(recs []titleRecord) titleColumns {
	var c titleColumns
	str := func(s string) *string { return &s }
	at := func(t *time.Time) *string {
		if t == nil {
			return nil
		}
		return str(t.UTC().Format(time.RFC3339Nano))
	}
	list := func(l []string) *string {
		v, _ := pq.StringArray(nonNil(l)).Value() // never fails
		return str(v.(string))
	}
	for _, r := range recs {
		c.ids = append(c.ids, str(r.id))
		c.existing = append(c.existing, r.existing)
		c.keys = append(c.keys, r.externalKey)
		c.kinds = append(c.kinds, str(r.kind))
		c.names = append(c.names, str(r.name))
		c.originalNames = append(c.originalNames, str(r.originalName))
		c.synopses = append(c.synopses, str(r.synopsis))
		c.years = append(c.years, r.releaseYear)
		c.runtimes = append(c.runtimes, r.runtimeMinutes)
		c.ratings = append(c.ratings, str(r.rating))
		c.languages = append(c.languages, list(r.languages))
		c.tags = append(c.tags, list(r.tags))
		c.statuses = append(c.statuses, str(r.status))
		c.published = append(c.published, at(r.publishedAt))
		c.from = append(c.from, at(r.availableFrom))
		c.until = append(c.until, at(r.availableUntil))
		c.videos = append(c.videos, r.videoID)
		c.playable = append(c.playable, r.playable())
		c.anyNew = c.anyNew || !r.existing
		c.anyExisting = c.anyExisting || r.existing
	}
	return c
}

// args are the columns in the order of placeholders.
func (c titleColumns) args() []any {
	return []any{pq.Array(c.ids), pq.Array(c.existing), pq.Array(c.keys), pq.Array(c.kinds), pq.Array(c.names),
		pq.Array(c.originalNames), pq.Array(c.synopses), pq.Array(c.years), pq.Array(c.runtimes), pq.Array(c.ratings),
		pq.Array(c.languages), pq.Array(c.tags), pq.Array(c.statuses), pq.Array(c.published), pq.Array(c.from),
		pq.Array(c.until), pq.Array(c.videos), pq.Array(c.playable)}
}

// placeholders are the typed parameters of args, numbered from first.
func (titleColumns) placeholders(first int) string {
	types := []string{"uuid", "bool", "text", "text", "text", "text", "text", "int", "int", "text",
		"text", "text", "text", "timestamptz", "timestamptz", "timestamptz", "text", "bool"}
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = fmt.Sprintf("$%d::%s[]", first+i, t)
	}
	return strings.Join(out, ", ")
}

// titleParts are the batch's genres, credits, seasons and episodes as one
// array per column; each row carries its title's id and its index in the
// title's list.
type titleParts struct {
	genreRecs, genreIdx                                      []int64
	genreTitles, genreSlugs                                  []string
	creditRecs, creditIdx, creditPos                         []int64
	creditTitles, creditPeople, creditRoles, creditChars     []string
	seasonIDs, seasonTitles, seasonNames, seasonSynopses     []string
	seasonNumbers                                            []int64
	seasonYears                                              []*int
	withSeasons                                              []string // titles whose seasons are replaced
	episodeIDs, episodeTitles, episodeNames, episodeSynopses []string
	episodeSeasons, episodeNumbers                           []int64
	episodeRuntimes                                          []*int
	episodeVideos                                            []*string
}

func partsOf(recs []titleRecord) titleParts {
	var p titleParts
	for i, r := range recs {
		for j, g := range r.genres {
			p.genreRecs, p.genreIdx = append(p.genreRecs, int64(i)), append(p.genreIdx, int64(j))
			p.genreTitles, p.genreSlugs = append(p.genreTitles, r.id), append(p.genreSlugs, g)
		}
		for j, c := range r.credits {
			p.creditRecs, p.creditIdx, p.creditPos = append(p.creditRecs, int64(i)), append(p.creditIdx, int64(j)), append(p.creditPos, int64(c.Position))
			p.creditTitles, p.creditPeople = append(p.creditTitles, r.id), append(p.creditPeople, c.PersonID)
			p.creditRoles, p.creditChars = append(p.creditRoles, c.Role), append(p.creditChars, c.Character)
		}
		if !r.withSeasons {
			continue
		}
		p.withSeasons = append(p.withSeasons, r.id)
		for _, s := range r.seasons {
			p.seasonIDs, p.seasonTitles, p.seasonNumbers = append(p.seasonIDs, newID()), append(p.seasonTitles, r.id), append(p.seasonNumbers, int64(s.Number))
			p.seasonNames, p.seasonSynopses, p.seasonYears = append(p.seasonNames, s.Name), append(p.seasonSynopses, s.Synopsis), append(p.seasonYears, s.Year)
			for _, e := range s.Episodes {
				p.episodeIDs, p.episodeTitles = append(p.episodeIDs, newID()), append(p.episodeTitles, r.id)
				p.episodeSeasons, p.episodeNumbers = append(p.episodeSeasons, int64(s.Number)), append(p.episodeNumbers, int64(e.Number))
				p.episodeNames, p.episodeSynopses = append(p.episodeNames, e.Name), append(p.episodeSynopses, e.Synopsis)
				p.episodeRuntimes, p.episodeVideos = append(p.episodeRuntimes, e.RuntimeMinutes), append(p.episodeVideos, e.VideoID)
			}
		}
	}
	return p
}

// checkReferences returns a validation error naming the genres and
// people of the first title of the batch that refers to ones that do not exist.
func checkReferences(ctx context.Context, tx *sqlx.Tx, p titleParts) error {
	if len(p.genreSlugs) == 0 && len(p.creditPeople) == 0 {
		return nil
	}
	var missing []struct {
		What  string `db:"what"`
		Rec   int    `db:"rec"`
		Index int    `db:"idx"`
	}
	if err := tx.SelectContext(ctx, &missing, `
		SELECT 'genre' AS what, x.rec, x.idx FROM unnest($1::int[], $2::int[], $3::text[]) AS x (rec, idx, slug)
		WHERE NOT EXISTS (SELECT 1 FROM content.genres g WHERE g.slug = x.slug)
		UNION ALL
		SELECT 'person', y.rec, y.idx FROM unnest($4::int[], $5::int[], $6::uuid[]) AS y (rec, idx, person_id)
		WHERE NOT EXISTS (SELECT 1 FROM content.people p WHERE p.id = y.person_id)`,
		pq.Int64Array(p.genreRecs), pq.Int64Array(p.genreIdx), pq.StringArray(p.genreSlugs),
		pq.Int64Array(p.creditRecs), pq.Int64Array(p.creditIdx), pq.StringArray(p.creditPeople)); err != nil {
		return fmt.Errorf("check references: %w", err)
	}
	if len(missing) == 0 {
		return nil
	}
	first := missing[0].Rec
	for _, m := range missing {
		first = min(first, m.Rec)
	}
	// Genres first, each list in its order, as the fields stand in the input.
	sort.SliceStable(missing, func(i, j int) bool {
		a, b := missing[i], missing[j]
		if a.What != b.What {
			return a.What < b.What
		}
		return a.Index < b.Index
	})
	var f fieldErrs
	for _, m := range missing {
		switch {
		case m.Rec != first:
		case m.What == "genre":
			f.add(fmt.Sprintf("genres[%d]", m.Index), "unknown", "No genre has this slug.")
		default:
			f.add(fmt.Sprintf("people[%d].person_id", m.Index), "unknown", "No person has this id.")
		}
	}
	return f.err()
}

// write replaces the parts of the titles written; existing are those
// that may have parts already.
func (p titleParts) write(ctx context.Context, tx *sqlx.Tx, existing []string) error {
	if len(existing) > 0 {
		old := pq.StringArray(existing)
		if _, err := tx.ExecContext(ctx, `DELETE FROM content.title_genres WHERE title_id = ANY($1::uuid[])`, old); err != nil {
			return fmt.Errorf("clear genres: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM content.title_people WHERE title_id = ANY($1::uuid[])`, old); err != nil {
			return fmt.Errorf("clear people: %w", err)
		}
	}
	steps := []struct {
		what, sql string
		args      []any
		skip      bool
	}{
		{"genres", `INSERT INTO content.title_genres (title_id, genre_id)
			SELECT x.title_id, g.id FROM unnest($1::uuid[], $2::text[]) AS x (title_id, slug) JOIN content.genres g ON g.slug = x.slug
			ON CONFLICT DO NOTHING`,
			[]any{pq.StringArray(p.genreTitles), pq.StringArray(p.genreSlugs)}, len(p.genreSlugs) == 0},
		{"people", `INSERT INTO content.title_people (title_id, person_id, role, character, position)
			SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int[])`,
			[]any{pq.StringArray(p.creditTitles), pq.StringArray(p.creditPeople), pq.StringArray(p.creditRoles),
				pq.StringArray(p.creditChars), pq.Int64Array(p.creditPos)}, len(p.creditPeople) == 0},
		{"seasons", `INSERT INTO content.seasons (id, title_id, number, name, synopsis, year)
			SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::text[], $6::int[])
			ON CONFLICT (title_id, number) DO UPDATE SET name = EXCLUDED.name, synopsis = EXCLUDED.synopsis, year = EXCLUDED.year`,
			[]any{pq.StringArray(p.seasonIDs), pq.StringArray(p.seasonTitles), pq.Int64Array(p.seasonNumbers),
				pq.StringArray(p.seasonNames), pq.StringArray(p.seasonSynopses), pq.Array(p.seasonYears)}, len(p.seasonIDs) == 0},
		{"episodes", `INSERT INTO content.episodes (id, season_id, number, name, synopsis, runtime_minutes, video_id)
			SELECT x.id, s.id, x.number, x.name, x.synopsis, x.runtime_minutes, x.video_id
			FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::int[], $5::text[], $6::text[], $7::int[], $8::text[])
				AS x (id, title_id, season, number, name, synopsis, runtime_minutes, video_id)
			JOIN content.seasons s ON s.title_id = x.title_id AND s.number = x.season
			ON CONFLICT (season_id, number) DO UPDATE SET name = EXCLUDED.name, synopsis = EXCLUDED.synopsis,
				runtime_minutes = EXCLUDED.runtime_minutes, video_id = EXCLUDED.video_id`,
			[]any{pq.StringArray(p.episodeIDs), pq.StringArray(p.episodeTitles), pq.Int64Array(p.episodeSeasons),
				pq.Int64Array(p.episodeNumbers), pq.StringArray(p.episodeNames), pq.StringArray(p.episodeSynopses),
				pq.Array(p.episodeRuntimes), pq.Array(p.episodeVideos)}, len(p.episodeIDs) == 0},
	}
	for _, st := range steps {
		if st.skip {
			continue
		}
		if _, err := tx.ExecContext(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("set %s: %w", st.what, err)
		}

	}
	// Seasons and episodes the titles no longer have go; only titles that
	// existed can have any.
	replaced := intersect(p.withSeasons, existing)
	if len(replaced) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM content.episodes e USING content.seasons s
		WHERE s.id = e.season_id AND s.title_id = ANY($1::uuid[]) AND NOT EXISTS (
			SELECT 1 FROM unnest($2::uuid[], $3::int[], $4::int[]) AS k (title_id, season, number)
			WHERE k.title_id = s.title_id AND k.season = s.number AND k.number = e.number)`,
		pq.StringArray(replaced), pq.StringArray(p.episodeTitles), pq.Int64Array(p.episodeSeasons), pq.Int64Array(p.episodeNumbers)); err != nil {
		return fmt.Errorf("drop episodes: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM content.seasons s WHERE s.title_id = ANY($1::uuid[]) AND NOT EXISTS (
			SELECT 1 FROM unnest($2::uuid[], $3::int[]) AS k (title_id, number) WHERE k.title_id = s.title_id AND k.number = s.number)`,
		pq.StringArray(replaced), pq.StringArray(p.seasonTitles), pq.Int64Array(p.seasonNumbers)); err != nil {
		return fmt.Errorf("drop seasons: %w", err)
	}
	return nil
}

func intersect(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if in[s] {
			out = append(out, s)
		}
	}
	return out
}

// takenKeys returns which of keys a title has as its external key.
func takenKeys(ctx context.Context, q sqlx.QueryerContext, keys []string) (map[string]bool, error) {
	var found []string
	if err := sqlx.SelectContext(ctx, q, &found, `SELECT external_key FROM content.titles WHERE external_key = ANY($1)`,
		pq.StringArray(keys)); err != nil {
		return nil, fmt.Errorf("find external keys: %w", err)
	}
	taken := make(map[string]bool, len(found))
	for _, k := range found {
		taken[k] = true
	}
	return taken, nil
}

// addSearchWords adds the words of ts's names, tags and people to the
// search lexicon, in one sorted statement, as the titles' trigger would.
func addSearchWords(ctx context.Context, tx *sqlx.Tx, ts []NewTitle) error {
	var names, originals, people, tags []string
	for _, t := range ts {
		names, originals = append(names, t.Name), append(originals, t.OriginalName)
		people = append(people, strings.Join(t.creditNames(), " "))
		v, _ := pq.StringArray(nonNil(t.Tags)).Value() // never fails
		tags = append(tags, v.(string))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO content.search_words (word)
		SELECT DISTINCT w FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x (name, original_name, people, tags),
			content.title_words(x.name, x.original_name, x.people, x.tags::text[]) AS w
		ORDER BY w ON CONFLICT DO NOTHING`,
		pq.StringArray(names), pq.StringArray(originals), pq.StringArray(people), pq.StringArray(tags)); err != nil {
		return fmt.Errorf("add search words: %w", err)
	}
	return nil
}

// lockPeople makes tx the only one creating people by name until it ends.
func lockPeople(ctx context.Context, tx *sqlx.Tx) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('content.people'))`); err != nil {
		return fmt.Errorf("lock people: %w", err)
	}
	return nil
}

// Analyze refreshes the planner's statistics of the catalog's tables. Call
// it after a bulk load (AddTitles), so that the first searches are planned
// for the tables as they now are.
func (s *Service) Analyze(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `ANALYZE content.titles, content.title_genres, content.title_people, content.people,
		content.seasons, content.episodes`); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}
