package content

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// The SQL of the admin API's writes.

// deleteTitle deletes the title and returns its artwork columns, or
// ErrTitleNotFound.
func deleteTitle(ctx context.Context, q sqlx.QueryerContext, id string) (art struct {
	Poster   []byte `db:"poster"`
	Backdrop []byte `db:"backdrop"`
}, err error) {
	err = sqlx.GetContext(ctx, q, &art, `DELETE FROM content.titles WHERE id = $1 RETURNING poster, backdrop`, id)
	if isNoRows(err) {
		return art, ErrTitleNotFound
	}
	if err != nil {
		return art, fmt.Errorf("delete title: %w", err)
	}
	return art, nil
}

// setStatus sets the title's status; a title keeps the time it was first
// published. It returns ErrTitleNotFound.
func setStatus(ctx context.Context, e sqlx.ExecerContext, id, status string) error {
	return execOne(ctx, e, ErrTitleNotFound, `UPDATE content.titles SET status = $2,
		published_at = CASE WHEN $2 = 'published' THEN coalesce(published_at, now()) ELSE published_at END,
		updated_at = now() WHERE id = $1`, id, status)
}

// execOne runs a write of one row; when it matches none, it returns missing.
func execOne(ctx context.Context, e sqlx.ExecerContext, missing error, stmt string, args ...any) error {
	res, err := e.ExecContext(ctx, stmt, args...)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return missing
	}
	return nil
}

func insertSeason(ctx context.Context, tx *sqlx.Tx, id, titleID string, in SeasonInput) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO content.seasons (id, title_id, number, name, synopsis, year) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, titleID, in.Number, in.Name, in.Synopsis, in.Year)
	return mapErr(err)
}

// touch marks a title updated and refreshes what derives from its parts.
func touch(ctx context.Context, tx *sqlx.Tx, titleID string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE content.titles SET updated_at = now() WHERE id = $1`, titleID); err != nil {
		return fmt.Errorf("touch title: %w", err)
	}
	return refreshDerived(ctx, tx, titleID)
}

// findSeason returns the season, or ErrSeasonNotFound.
func findSeason(ctx context.Context, q sqlx.QueryerContext, id string) (seasonRow, error) {
	var row seasonRow
	err := sqlx.GetContext(ctx, q, &row, `SELECT `+seasonCols+` FROM content.seasons s WHERE s.id = $1`, id)
	return row, notFound(err, ErrSeasonNotFound)
}

// Writes to a season or episode that return the id of its title, for
// changeTitle.
const (
	updateSeasonSQL  = `UPDATE content.seasons SET number = $2, name = $3, synopsis = $4, year = $5 WHERE id = $1 RETURNING title_id`
	deleteSeasonSQL  = `DELETE FROM content.seasons WHERE id = $1 RETURNING title_id`
	updateEpisodeSQL = `UPDATE content.episodes e SET number = $2, name = $3, synopsis = $4, runtime_minutes = $5
		FROM content.seasons s WHERE e.id = $1 AND s.id = e.season_id RETURNING s.title_id`
	deleteEpisodeSQL = `DELETE FROM content.episodes e USING content.seasons s
		WHERE e.id = $1 AND s.id = e.season_id RETURNING s.title_id`
)

// titleOfPart runs such a write and returns the title's id; a write that
// matched nothing returns missing.
func titleOfPart(ctx context.Context, tx *sqlx.Tx, missing error, query string, args ...any) (string, error) {
	var titleID string
	if err := tx.GetContext(ctx, &titleID, query, args...); err != nil {
		return "", notFound(mapErr(err), missing)
	}
	return titleID, nil
}

// lockSeason locks the season and returns its title's id, or
// ErrSeasonNotFound.
func lockSeason(ctx context.Context, tx *sqlx.Tx, seasonID string) (string, error) {
	var titleID string
	err := tx.GetContext(ctx, &titleID, `SELECT title_id FROM content.seasons WHERE id = $1 FOR UPDATE`, seasonID)
	return titleID, notFound(err, ErrSeasonNotFound)
}

func insertEpisode(ctx context.Context, tx *sqlx.Tx, id, seasonID string, in EpisodeInput) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO content.episodes (id, season_id, number, name, synopsis, runtime_minutes)
		VALUES ($1, $2, $3, $4, $5, $6)`, id, seasonID, in.Number, in.Name, in.Synopsis, in.RuntimeMinutes)
	return mapErr(err)
}

// findEpisode returns the episode, or ErrEpisodeNotFound.
func findEpisode(ctx context.Context, q sqlx.QueryerContext, id string) (episodeRow, error) {
	var row episodeRow
	err := sqlx.GetContext(ctx, q, &row, `SELECT `+episodeCols+` FROM content.episodes e WHERE e.id = $1`, id)
	return row, notFound(err, ErrEpisodeNotFound)
}

func listGenres(ctx context.Context, q sqlx.QueryerContext) ([]Genre, error) {
	out := []Genre{}
	if err := sqlx.SelectContext(ctx, q, &out, `SELECT id, slug, name FROM content.genres ORDER BY name, slug`); err != nil {
		return nil, fmt.Errorf("list genres: %w", err)
	}
	return out, nil
}

// insertGenre returns ErrGenreTaken.
func insertGenre(ctx context.Context, e sqlx.ExecerContext, g Genre) error {
	_, err := e.ExecContext(ctx, `INSERT INTO content.genres (id, slug, name) VALUES ($1, $2, $3)`, g.ID, g.Slug, g.Name)
	return mapErr(err)
}

// updateGenre returns ErrGenreNotFound or ErrGenreTaken.
func updateGenre(ctx context.Context, e sqlx.ExecerContext, g Genre) error {
	return execOne(ctx, e, ErrGenreNotFound, `UPDATE content.genres SET slug = $2, name = $3 WHERE id = $1`, g.ID, g.Slug, g.Name)
}

const deleteGenreSQL = `DELETE FROM content.genres WHERE id = $1`

func insertPerson(ctx context.Context, e sqlx.ExecerContext, p Person) error {
	if _, err := e.ExecContext(ctx, `INSERT INTO content.people (id, name) VALUES ($1, $2)`, p.ID, p.Name); err != nil {
		return fmt.Errorf("create person: %w", err)
	}
	return nil
}

// renamePerson returns ErrPersonNotFound.
func renamePerson(ctx context.Context, tx *sqlx.Tx, p Person) error {
	return execOne(ctx, tx, ErrPersonNotFound, `UPDATE content.people SET name = $2 WHERE id = $1`, p.ID, p.Name)
}

// deletePerson returns ErrPersonNotFound.
func deletePerson(ctx context.Context, tx *sqlx.Tx, id string) error {
	return execOne(ctx, tx, ErrPersonNotFound, `DELETE FROM content.people WHERE id = $1`, id)
}

// titlesOf returns the ids of the titles that credit the person.
func titlesOf(ctx context.Context, tx *sqlx.Tx, personID string) ([]string, error) {
	var ids []string
	if err := tx.SelectContext(ctx, &ids, `SELECT DISTINCT title_id FROM content.title_people WHERE person_id = $1`, personID); err != nil {
		return nil, fmt.Errorf("titles of person: %w", err)
	}
	return ids, nil
}

func refreshPeopleOf(ctx context.Context, tx *sqlx.Tx, personID string) error {
	ids, err := titlesOf(ctx, tx, personID)
	if err != nil {
		return err
	}
	return refreshDerived(ctx, tx, ids...)
}
