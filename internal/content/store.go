package content

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/streamflix/streamflix/internal/platform/pg"
)

// titleCols are the columns of a Title in lists, on content.titles t.
const titleCols = `t.id, t.kind, t.name, t.release_year, t.maturity_rating, t.maturity_level,
	t.poster, t.backdrop, t.playable, t.published_at,
	coalesce((SELECT json_agg(json_build_object('id', g.id, 'slug', g.slug, 'name', g.name) ORDER BY g.name)
		FROM content.title_genres tg JOIN content.genres g ON g.id = tg.genre_id WHERE tg.title_id = t.id), '[]') AS genres`

// detailCols add what a title page shows.
const detailCols = titleCols + `, t.original_name, t.synopsis, t.runtime_minutes, t.languages, t.tags`

// adminCols add what operators see.
const adminCols = detailCols + `, t.external_key, t.status, t.available_from, t.available_until, t.video_id, t.created_at, t.updated_at`

type titleRow struct {
	ID             string         `db:"id"`
	Kind           string         `db:"kind"`
	Name           string         `db:"name"`
	ReleaseYear    sql.NullInt64  `db:"release_year"`
	MaturityRating string         `db:"maturity_rating"`
	MaturityLevel  int            `db:"maturity_level"`
	Poster         []byte         `db:"poster"`
	Backdrop       []byte         `db:"backdrop"`
	Playable       bool           `db:"playable"`
	PublishedAt    sql.NullTime   `db:"published_at"`
	Genres         []byte         `db:"genres"`
	OriginalName   string         `db:"original_name"`
	Synopsis       string         `db:"synopsis"`
	RuntimeMinutes sql.NullInt64  `db:"runtime_minutes"`
	Languages      pq.StringArray `db:"languages"`
	Tags           pq.StringArray `db:"tags"`
	ExternalKey    sql.NullString `db:"external_key"`
	Status         string         `db:"status"`
	AvailableFrom  sql.NullTime   `db:"available_from"`
	AvailableUntil sql.NullTime   `db:"available_until"`
	VideoID        sql.NullString `db:"video_id"`
	CreatedAt      time.Time      `db:"created_at"`
	UpdatedAt      time.Time      `db:"updated_at"`
	Score          float64        `db:"score"`
}

func intPtr(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int64)
	return &v
}

func strPtr(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// title, details and admin turn the row into what clients see; mediaURL
// prefixes the artwork's URLs.
func (r titleRow) title(mediaURL string) Title {
	t := Title{ID: r.ID, Kind: r.Kind, Name: r.Name, Year: intPtr(r.ReleaseYear), MaturityRating: r.MaturityRating,
		MaturityLevel: r.MaturityLevel, Artwork: Artwork{Poster: viewImage(r.Poster, mediaURL), Backdrop: viewImage(r.Backdrop, mediaURL)},
		Playable: r.Playable, Genres: []Genre{}}
	_ = json.Unmarshal(r.Genres, &t.Genres)
	return t
}

func (r titleRow) details(mediaURL string) TitleDetails {
	d := TitleDetails{Title: r.title(mediaURL), OriginalName: r.OriginalName, Synopsis: r.Synopsis, RuntimeMinutes: intPtr(r.RuntimeMinutes),
		Languages: nonNil(r.Languages), Tags: nonNil(r.Tags), People: []Credit{}, Seasons: []Season{}, Related: []Title{}}
	return d
}

func (r titleRow) admin(mediaURL string) AdminTitle {
	return AdminTitle{TitleDetails: r.details(mediaURL), ExternalKey: strPtr(r.ExternalKey), Status: r.Status, PublishedAt: timePtr(r.PublishedAt),
		AvailableFrom: timePtr(r.AvailableFrom), AvailableUntil: timePtr(r.AvailableUntil), VideoID: strPtr(r.VideoID),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func titles(rows []titleRow, mediaURL string) []Title {
	out := make([]Title, len(rows))
	for i, r := range rows {
		out[i] = r.title(mediaURL)
	}
	return out
}

// query builds a statement with numbered parameters: values never enter
// the SQL text.
type query struct {
	where []string
	args  []any
}

// arg adds v as a parameter and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

func (q *query) and(cond string) { q.where = append(q.where, cond) }

func (q *query) whereSQL() string {
	if len(q.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.where, " AND ")
}

// visible adds the viewer filter on alias: published, inside the
// availability window, at or under the ceiling.
func (q *query) visible(alias string, v Viewer) { q.and(q.visibleCond(alias, v)) }

// visibleCond is visible's condition, for use inside a subquery.
func (q *query) visibleCond(a string, v Viewer) string {
	return a + `.status = 'published' AND (` + a + `.available_from IS NULL OR ` + a + `.available_from <= now()) AND (` +
		a + `.available_until IS NULL OR now() < ` + a + `.available_until) AND ` + a + `.maturity_level <= ` + q.arg(v.MaturityLevel)
}

// mapErr turns constraint violations into domain errors.
func mapErr(err error) error { return pg.MapUnique(err, uniqueErrs) }

var uniqueErrs = map[string]error{
	"genres_slug_key":            ErrGenreTaken,
	"seasons_title_number_key":   ErrSeasonTaken,
	"episodes_season_number_key": ErrEpisodeTaken,
	"titles_external_key_key":    ErrExternalKey,
}

func findAdminTitle(ctx context.Context, q sqlx.QueryerContext, id string, forUpdate bool) (titleRow, error) {
	var row titleRow
	if !validUUID(id) {
		return row, ErrTitleNotFound
	}
	stmt := `SELECT ` + adminCols + ` FROM content.titles t WHERE t.id = $1`
	if forUpdate {
		stmt += ` FOR UPDATE`
	}
	err := sqlx.GetContext(ctx, q, &row, stmt, id)
	if errors.Is(err, sql.ErrNoRows) {
		return row, ErrTitleNotFound
	}
	if err != nil {
		return row, fmt.Errorf("find title: %w", err)
	}
	return row, nil
}

func credits(ctx context.Context, q sqlx.QueryerContext, titleID string) ([]Credit, error) {
	out := []Credit{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT tp.person_id, p.name, tp.role, tp.character, tp.position
		FROM content.title_people tp JOIN content.people p ON p.id = tp.person_id
		WHERE tp.title_id = $1 ORDER BY tp.position, p.name, tp.role`, titleID)
	if err != nil {
		return nil, fmt.Errorf("list credits: %w", err)
	}
	return out, nil
}

type seasonRow struct {
	ID       string        `db:"id"`
	TitleID  string        `db:"title_id"`
	Number   int           `db:"number"`
	Name     string        `db:"name"`
	Synopsis string        `db:"synopsis"`
	Year     sql.NullInt64 `db:"year"`
}

func (r seasonRow) season() Season {
	return Season{ID: r.ID, TitleID: r.TitleID, Number: r.Number, Name: r.Name, Synopsis: r.Synopsis, Year: intPtr(r.Year), Episodes: []Episode{}}
}

type episodeRow struct {
	ID             string         `db:"id"`
	SeasonID       string         `db:"season_id"`
	Number         int            `db:"number"`
	Name           string         `db:"name"`
	Synopsis       string         `db:"synopsis"`
	RuntimeMinutes sql.NullInt64  `db:"runtime_minutes"`
	VideoID        sql.NullString `db:"video_id"`
}

func (r episodeRow) episode() Episode {
	return Episode{ID: r.ID, SeasonID: r.SeasonID, Number: r.Number, Name: r.Name, Synopsis: r.Synopsis,
		RuntimeMinutes: intPtr(r.RuntimeMinutes), VideoID: strPtr(r.VideoID)}
}

const seasonCols = `s.id, s.title_id, s.number, s.name, s.synopsis, s.year`
const episodeCols = `e.id, e.season_id, e.number, e.name, e.synopsis, e.runtime_minutes, e.video_id`

// seasons returns a title's seasons with their episodes, in order.
func seasons(ctx context.Context, q sqlx.QueryerContext, titleID string) ([]Season, error) {
	var srows []seasonRow
	if err := sqlx.SelectContext(ctx, q, &srows, `SELECT `+seasonCols+` FROM content.seasons s WHERE s.title_id = $1 ORDER BY s.number`, titleID); err != nil {
		return nil, fmt.Errorf("list seasons: %w", err)
	}
	var erows []episodeRow
	if err := sqlx.SelectContext(ctx, q, &erows, `SELECT `+episodeCols+` FROM content.episodes e JOIN content.seasons s ON s.id = e.season_id
		WHERE s.title_id = $1 ORDER BY s.number, e.number`, titleID); err != nil {
		return nil, fmt.Errorf("list episodes: %w", err)
	}
	out := make([]Season, len(srows))
	idx := map[string]int{}
	for i, r := range srows {
		out[i] = r.season()
		idx[r.ID] = i
	}
	for _, e := range erows {
		i := idx[e.SeasonID]
		out[i].Episodes = append(out[i].Episodes, e.episode())
	}
	return out, nil
}

// refreshDerived recomputes the titles' people_text (for search) and
// playable flag after a write, in one statement however many they are.
func refreshDerived(ctx context.Context, e sqlx.ExecerContext, titleIDs ...string) error {
	_, err := e.ExecContext(ctx, `UPDATE content.titles t SET
		people_text = coalesce((SELECT string_agg(DISTINCT p.name, ' ') FROM content.title_people tp JOIN content.people p ON p.id = tp.person_id WHERE tp.title_id = t.id), ''),
		playable = CASE WHEN t.kind = 'movie' THEN t.video_id IS NOT NULL ELSE EXISTS (
			SELECT 1 FROM content.episodes e JOIN content.seasons s ON s.id = e.season_id WHERE s.title_id = t.id AND e.video_id IS NOT NULL) END
		WHERE t.id = ANY($1::uuid[])`, pq.StringArray(titleIDs))
	if err != nil {
		return fmt.Errorf("refresh title: %w", err)
	}
	return nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
