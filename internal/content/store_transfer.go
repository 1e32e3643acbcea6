package content

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The SQL of catalog import and export.

// catalogRow is a title's own columns as the catalog format has them.
type catalogRow struct {
	ID             string         `db:"id"`
	Key            string         `db:"key"`
	Kind           string         `db:"kind"`
	Name           string         `db:"name"`
	OriginalName   string         `db:"original_name"`
	Synopsis       string         `db:"synopsis"`
	ReleaseYear    sql.NullInt64  `db:"release_year"`
	RuntimeMinutes sql.NullInt64  `db:"runtime_minutes"`
	MaturityRating string         `db:"maturity_rating"`
	Languages      pq.StringArray `db:"languages"`
	Tags           pq.StringArray `db:"tags"`
	Status         string         `db:"status"`
	AvailableFrom  sql.NullTime   `db:"available_from"`
	AvailableUntil sql.NullTime   `db:"available_until"`
	VideoID        sql.NullString `db:"video_id"`
}

// catalogTitles reads the titles with these ids in the catalog format,
// normalized, in the order of ids.
func catalogTitles(ctx context.Context, q sqlx.QueryerContext, ids []string) ([]CatalogTitle, error) {
	arr := pq.StringArray(ids)
	var rows []catalogRow
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT t.id, coalesce(t.external_key, t.id::text) AS key, t.kind, t.name,
		t.original_name, t.synopsis, t.release_year, t.runtime_minutes, t.maturity_rating, t.languages, t.tags, t.status,
		t.available_from, t.available_until, t.video_id
		FROM content.titles t WHERE t.id = ANY($1::uuid[])`, arr); err != nil {
		return nil, fmt.Errorf("read titles: %w", err)
	}
	byID := make(map[string]*CatalogTitle, len(rows))
	for _, r := range rows {
		ct := &CatalogTitle{ExternalKey: r.Key, Kind: r.Kind, Name: r.Name, OriginalName: r.OriginalName, Synopsis: r.Synopsis,
			ReleaseYear: intPtr(r.ReleaseYear), RuntimeMinutes: intPtr(r.RuntimeMinutes), MaturityRating: r.MaturityRating,
			Languages: r.Languages, Tags: r.Tags, Status: r.Status, AvailableFrom: timePtr(r.AvailableFrom),
			AvailableUntil: timePtr(r.AvailableUntil), VideoID: strPtr(r.VideoID)}
		byID[r.ID] = ct
	}

	var genres []struct {
		TitleID string `db:"title_id"`
		Slug    string `db:"slug"`
	}
	if err := sqlx.SelectContext(ctx, q, &genres, `SELECT tg.title_id, g.slug FROM content.title_genres tg
		JOIN content.genres g ON g.id = tg.genre_id WHERE tg.title_id = ANY($1::uuid[])`, arr); err != nil {
		return nil, fmt.Errorf("read title genres: %w", err)
	}
	for _, g := range genres {
		if ct := byID[g.TitleID]; ct != nil {
			ct.Genres = append(ct.Genres, g.Slug)
		}
	}

	var credits []struct {
		TitleID   string `db:"title_id"`
		Name      string `db:"name"`
		Role      string `db:"role"`
		Character string `db:"character"`
		Position  int    `db:"position"`
	}
	if err := sqlx.SelectContext(ctx, q, &credits, `SELECT tp.title_id, p.name, tp.role, tp.character, tp.position
		FROM content.title_people tp JOIN content.people p ON p.id = tp.person_id WHERE tp.title_id = ANY($1::uuid[])`, arr); err != nil {
		return nil, fmt.Errorf("read credits: %w", err)
	}
	for _, c := range credits {
		if ct := byID[c.TitleID]; ct != nil {
			pos := c.Position
			ct.Credits = append(ct.Credits, CatalogCredit{Name: c.Name, Role: c.Role, Character: c.Character, Position: &pos})
		}
	}

	var srows []seasonRow
	if err := sqlx.SelectContext(ctx, q, &srows, `SELECT `+seasonCols+` FROM content.seasons s WHERE s.title_id = ANY($1::uuid[])`, arr); err != nil {
		return nil, fmt.Errorf("read seasons: %w", err)
	}
	var erows []episodeRow
	if err := sqlx.SelectContext(ctx, q, &erows, `SELECT `+episodeCols+` FROM content.episodes e
		JOIN content.seasons s ON s.id = e.season_id WHERE s.title_id = ANY($1::uuid[])`, arr); err != nil {
		return nil, fmt.Errorf("read episodes: %w", err)
	}
	episodes := map[string][]CatalogEpisode{}
	for _, e := range erows {
		episodes[e.SeasonID] = append(episodes[e.SeasonID], CatalogEpisode{Number: e.Number, Name: e.Name, Synopsis: e.Synopsis,
			RuntimeMinutes: intPtr(e.RuntimeMinutes), VideoID: strPtr(e.VideoID)})
	}
	for _, s := range srows {
		if ct := byID[s.TitleID]; ct != nil {
			ct.Seasons = append(ct.Seasons, CatalogSeason{Number: s.Number, Name: s.Name, Synopsis: s.Synopsis, Year: intPtr(s.Year),
				Episodes: episodes[s.ID]})
		}
	}

	out := make([]CatalogTitle, 0, len(ids))
	for _, id := range ids {
		ct := byID[id]
		if ct == nil {
			return nil, fmt.Errorf("read titles: %s: %w", id, ErrTitleNotFound)
		}
		ct.normalize(nil)
		out = append(out, *ct)
	}
	return out, nil
}

// findByExternalKey returns the id of the title with this external key
// (keyed), or of the title with this id and no external key (how Export
// names titles made by hand), locked for update; "" when there is none.
func findByExternalKey(ctx context.Context, tx *sqlx.Tx, key string) (id string, keyed bool, err error) {
	err = tx.GetContext(ctx, &id, `SELECT id FROM content.titles WHERE external_key = $1 FOR UPDATE`, key)
	keyed = err == nil
	if isNoRows(err) && validUUID(key) {
		err = tx.GetContext(ctx, &id, `SELECT id FROM content.titles WHERE id = $1 AND external_key IS NULL FOR UPDATE`, key)
	}
	if isNoRows(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("find title by key: %w", err)
	}
	return id, keyed, nil
}

// personIDs returns the id of the person of each name: the oldest person
// with exactly that name, or a new person.
func personIDs(ctx context.Context, tx *sqlx.Tx, names []string) (map[string]string, error) {
	if len(names) == 0 {
		return map[string]string{}, nil
	}
	var found []struct {
		Name string `db:"name"`
		ID   string `db:"id"`
	}
	if err := tx.SelectContext(ctx, &found, `SELECT DISTINCT ON (name) name, id FROM content.people
		WHERE name = ANY($1) ORDER BY name, created_at, id`, pq.StringArray(names)); err != nil {
		return nil, fmt.Errorf("find people: %w", err)
	}
	ids := make(map[string]string, len(names))
	for _, p := range found {
		ids[p.Name] = p.ID
	}
	var newIDs, newNames []string
	for _, n := range names {
		if _, ok := ids[n]; !ok {
			ids[n] = newID()
			newIDs, newNames = append(newIDs, ids[n]), append(newNames, n)
		}
	}
	if len(newIDs) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO content.people (id, name) SELECT * FROM unnest($1::uuid[], $2::text[])`,
			pq.StringArray(newIDs), pq.StringArray(newNames)); err != nil {
			return nil, fmt.Errorf("create people: %w", err)
		}
	}
	return ids, nil
}

// applyGenre creates the genre of g's slug or renames it to g's name.
func applyGenre(ctx context.Context, tx *sqlx.Tx, g GenreInput) (int, error) {
	var cur sql.NullString
	if err := tx.GetContext(ctx, &cur, `SELECT name FROM content.genres WHERE slug = $1`, g.Slug); err != nil && !isNoRows(err) {
		return 0, fmt.Errorf("find genre: %w", err)
	}
	var err error
	outcome := outUnchanged
	switch {
	case !cur.Valid:
		outcome = outCreated
		_, err = tx.ExecContext(ctx, `INSERT INTO content.genres (id, slug, name) VALUES ($1, $2, $3)`, newID(), g.Slug, g.Name)
	case cur.String != g.Name:
		outcome = outUpdated
		_, err = tx.ExecContext(ctx, `UPDATE content.genres SET name = $2 WHERE slug = $1`, g.Slug, g.Name)
	}
	if err != nil {
		return 0, fmt.Errorf("genre %q: %w", g.Slug, err)
	}
	return outcome, nil
}

// savepoint starts an import row's savepoint in tx.
func savepoint(ctx context.Context, tx *sqlx.Tx) error {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT import_row`); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	return nil
}

// endSavepoint releases the import row's savepoint, or rolls back to it.
func endSavepoint(ctx context.Context, tx *sqlx.Tx, rollback bool) error {
	end := `RELEASE SAVEPOINT import_row`
	if rollback {
		end = `ROLLBACK TO SAVEPOINT import_row`
	}
	if _, err := tx.ExecContext(ctx, end); err != nil {
		return fmt.Errorf("end savepoint: %w", err)
	}
	return nil
}

// beginSnapshot starts a read-only transaction that sees one snapshot.
func beginSnapshot(ctx context.Context, db *sqlx.DB) (*sqlx.Tx, error) {
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return tx, nil
}

// exportGenres returns every genre, by slug in byte order.
func exportGenres(ctx context.Context, tx *sqlx.Tx) ([]GenreInput, error) {
	var genres []GenreInput
	if err := tx.SelectContext(ctx, &genres, `SELECT slug, name FROM content.genres ORDER BY slug COLLATE "C"`); err != nil {
		return nil, fmt.Errorf("export genres: %w", err)
	}
	return genres, nil
}

// declareExport opens the cursor fetchExport reads: every title's id by
// key. The key order is byte order, whatever the database's collation, so
// that two databases export the same catalog identically.
func declareExport(ctx context.Context, tx *sqlx.Tx) error {
	if _, err := tx.ExecContext(ctx, `DECLARE export_titles NO SCROLL CURSOR FOR
		SELECT id FROM content.titles ORDER BY coalesce(external_key, id::text) COLLATE "C"`); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// fetchExport returns the next n ids of declareExport's cursor; none at the end.
func fetchExport(ctx context.Context, tx *sqlx.Tx, n int) ([]string, error) {
	var ids []string
	if err := tx.SelectContext(ctx, &ids, fmt.Sprintf(`FETCH %d FROM export_titles`, n)); err != nil {
		return nil, fmt.Errorf("export titles: %w", err)
	}
	return ids, nil
}

// TitleCount returns how many titles the catalog has, in any status.
func (s *Service) TitleCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM content.titles`); err != nil {
		return 0, fmt.Errorf("count titles: %w", err)
	}
	return n, nil
}
