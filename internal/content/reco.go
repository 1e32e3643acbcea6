package content

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// RecoItem is a published title as the recommendation module ranks it.
type RecoItem struct {
	ID             string
	Kind           string
	Name           string
	Genres         []Genre
	RuntimeMinutes *int
	Episodes       int
	PublishedAt    time.Time
}

// RecoItems returns every published title, whatever its maturity and
// availability window (the recommender filters per viewer with Cards),
// with its genres, runtime and, for a series, its episode count.
func (s *Service) RecoItems(ctx context.Context) ([]RecoItem, error) {
	var rows []struct {
		titleRow
		Episodes int `db:"episodes"`
	}
	err := sqlx.SelectContext(ctx, s.db, &rows, `SELECT `+titleCols+`, t.runtime_minutes,
		(SELECT count(*) FROM content.episodes e JOIN content.seasons se ON se.id = e.season_id WHERE se.title_id = t.id) AS episodes
		FROM content.titles t WHERE t.status = 'published'`)
	if err != nil {
		return nil, fmt.Errorf("reco items: %w", err)
	}
	out := make([]RecoItem, len(rows))
	for i, r := range rows {
		it := RecoItem{ID: r.ID, Kind: r.Kind, Name: r.Name, RuntimeMinutes: intPtr(r.RuntimeMinutes), Episodes: r.Episodes,
			PublishedAt: r.PublishedAt.Time}
		if err := json.Unmarshal(r.Genres, &it.Genres); err != nil {
			return nil, fmt.Errorf("reco items: genres of %s: %w", r.ID, err)
		}
		out[i] = it
	}
	return out, nil
}

// Cards returns the titles among ids the viewer may see now (published,
// inside the availability window, at or under the maturity ceiling), in
// no particular order; other ids, and strings that are not ids, are left
// out.
func (s *Service) Cards(ctx context.Context, v Viewer, ids []string) ([]Title, error) {
	var valid []string
	for _, id := range ids {
		if validUUID(id) {
			valid = append(valid, id)
		}
	}
	if len(valid) == 0 {
		return nil, nil
	}
	var q query
	q.and(`t.id = ANY(` + q.arg(pq.StringArray(valid)) + `::uuid[])`)
	q.visible("t", v)
	var rows []titleRow
	if err := sqlx.SelectContext(ctx, s.db, &rows, `SELECT `+titleCols+` FROM content.titles t`+q.whereSQL(), q.args...); err != nil {
		return nil, fmt.Errorf("cards: %w", err)
	}
	return titles(rows, s.cfg.MediaURL), nil
}
