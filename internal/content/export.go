package content

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

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
	episodes := map[string][]EpisodeInput{}
	for _, e := range erows {
		episodes[e.SeasonID] = append(episodes[e.SeasonID], EpisodeInput{Number: e.Number, Name: e.Name, Synopsis: e.Synopsis,
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

// Export writes the whole catalog to w in the catalog format: every genre
// by slug, then every title by external key, one per line, from one
// consistent snapshot. It reads and writes a page of titles at a time.
// Importing its output into an empty catalog and exporting again gives the
// same bytes.
func (s *Service) Export(ctx context.Context, w io.Writer) error {
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("export: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	bw := bufio.NewWriterSize(w, 64<<10)
	line := func(i int, v any) error {
		if i > 0 {
			bw.WriteString(",\n")
		} else {
			bw.WriteString("\n")
		}
		b, err := marshalLine(v)
		if err != nil {
			return err
		}
		_, err = bw.Write(b)
		return err
	}
	fmt.Fprintf(bw, `{"format":"%s","version":%d,`+"\n"+`"genres":[`, CatalogFormat, CatalogVersion)
	var genres []GenreInput
	if err := tx.SelectContext(ctx, &genres, `SELECT slug, name FROM content.genres ORDER BY slug COLLATE "C"`); err != nil {
		return fmt.Errorf("export genres: %w", err)
	}
	for i, g := range genres {
		if err := line(i, g); err != nil {
			return err
		}
	}
	bw.WriteString("\n],\n" + `"titles":[`)
	// The key order is byte order, whatever the database's collation, so
	// that two databases export the same catalog identically.
	if _, err := tx.ExecContext(ctx, `DECLARE export_titles NO SCROLL CURSOR FOR
		SELECT id FROM content.titles ORDER BY coalesce(external_key, id::text) COLLATE "C"`); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	n := 0
	for {
		var ids []string
		if err := tx.SelectContext(ctx, &ids, fmt.Sprintf(`FETCH %d FROM export_titles`, exportPage)); err != nil {
			return fmt.Errorf("export titles: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		ts, err := catalogTitles(ctx, tx, ids)
		if err != nil {
			return err
		}
		for i := range ts {
			if err := line(n, &ts[i]); err != nil {
				return err
			}
			n++
		}
	}
	bw.WriteString("\n]}\n")
	return bw.Flush()
}

// marshalLine is v as JSON, with <, > and & left as they are.
func marshalLine(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// TitleCount returns how many titles the catalog has, in any status.
func (s *Service) TitleCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM content.titles`); err != nil {
		return 0, fmt.Errorf("count titles: %w", err)
	}
	return n, nil
}
