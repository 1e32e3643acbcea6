package content

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The SQL of what viewers read: browse lists, title pages and search. Every
// statement filters by what the viewer may see (query.visible).

func (f Filter) apply(q *query) {
	if f.Genre != "" {
		// The genre's id comes from a scalar subquery, not a join, so the
		// planner knows it is one genre and walks the newest titles in
		// order, stopping at the page's end, instead of reading every
		// title of the genre and sorting them (200 ms at 100,000 titles).
		q.and(`EXISTS (SELECT 1 FROM content.title_genres tg WHERE tg.title_id = t.id
			AND tg.genre_id = (SELECT g.id FROM content.genres g WHERE g.slug = ` + q.arg(f.Genre) + `))`)
	}
	if f.Kind != "" {
		q.and(`t.kind = ` + q.arg(f.Kind))
	}
	if f.Year != 0 {
		q.and(`t.release_year = ` + q.arg(f.Year))
	}
	if f.Language != "" {
		q.and(q.arg(f.Language) + ` = ANY(t.languages)`)
	}
}

// listTitles returns up to limit titles the viewer may see that pass f,
// newest published first, after the keyset position after (nil: from the
// start).
func listTitles(ctx context.Context, db sqlx.QueryerContext, v Viewer, f Filter, after *cursor, limit int) ([]titleRow, error) {
	var q query
	q.visible("t", v)
	f.apply(&q)
	if after != nil {
		q.and(`(t.published_at, t.id) < (` + q.arg(*after.P) + `, ` + q.arg(after.ID) + `::uuid)`)
	}
	var rows []titleRow
	stmt := `SELECT ` + titleCols + ` FROM content.titles t` + q.whereSQL() +
		` ORDER BY t.published_at DESC, t.id DESC LIMIT ` + q.arg(limit)
	if err := sqlx.SelectContext(ctx, db, &rows, stmt, q.args...); err != nil {
		return nil, fmt.Errorf("list titles: %w", err)
	}
	return rows, nil
}

// homeGenres returns the genres, by name, that have a title the viewer
// may see, at most maxRows.
func homeGenres(ctx context.Context, db sqlx.QueryerContext, v Viewer) ([]Genre, error) {
	var q query
	q.visible("t", v)
	var genres []Genre
	stmt := `SELECT g.id, g.slug, g.name FROM content.genres g WHERE EXISTS (
		SELECT 1 FROM content.title_genres tg JOIN content.titles t ON t.id = tg.title_id` + q.whereSQL() + ` AND tg.genre_id = g.id)
		ORDER BY g.name, g.slug LIMIT ` + q.arg(maxRows)
	if err := sqlx.SelectContext(ctx, db, &genres, stmt, q.args...); err != nil {
		return nil, fmt.Errorf("home genres: %w", err)
	}
	return genres, nil
}

// findVisible returns the title if the viewer may see it, else
// ErrTitleNotFound: a title above the profile's ceiling does not exist for it.
func findVisible(ctx context.Context, db sqlx.QueryerContext, v Viewer, id string) (titleRow, error) {
	var row titleRow
	if !validUUID(id) {
		return row, ErrTitleNotFound
	}
	var q query
	q.and(`t.id = ` + q.arg(id))
	q.visible("t", v)
	err := sqlx.GetContext(ctx, db, &row, `SELECT `+detailCols+` FROM content.titles t`+q.whereSQL(), q.args...)
	if err != nil {
		return row, notFound(err, ErrTitleNotFound)
	}
	return row, nil
}

// relatedTitles returns the titles related to title id that the viewer
// may see, best first, at most relatedItems.
func relatedTitles(ctx context.Context, db sqlx.QueryerContext, v Viewer, id string) ([]titleRow, error) {
	var q query
	idArg := q.arg(id)
	candVisible := q.visibleCond("c", v)
	q.visible("t", v)
	// Candidates are bounded so the cost does not grow with the catalog:
	// titles sharing a person (each shared person weighs 3), and the newest
	// relatedPerGenre visible titles of each of the title's genres (each
	// shared genre weighs 1). A genre holds a large part of a big catalog,
	// so counting every title in it would read tens of thousands of rows.
	var rel []titleRow
	stmt := `WITH cand AS (
			SELECT tp2.title_id, 3 AS w FROM content.title_people tp1
			JOIN content.title_people tp2 ON tp2.person_id = tp1.person_id
			WHERE tp1.title_id = ` + idArg + ` AND tp2.title_id <> ` + idArg + `
			UNION ALL
			SELECT x.id, 1 FROM content.title_genres g CROSS JOIN LATERAL (
				SELECT c.id FROM content.titles c WHERE ` + candVisible + ` AND c.id <> ` + idArg + `
				AND EXISTS (SELECT 1 FROM content.title_genres cg WHERE cg.title_id = c.id AND cg.genre_id = g.genre_id)
				ORDER BY c.published_at DESC, c.id DESC LIMIT ` + q.arg(relatedPerGenre) + `) x
			WHERE g.title_id = ` + idArg + `),
		rel AS (SELECT title_id, sum(w) AS n FROM cand GROUP BY title_id)
		SELECT ` + titleCols + ` FROM rel JOIN content.titles t ON t.id = rel.title_id` + q.whereSQL() + `
		ORDER BY rel.n DESC, t.published_at DESC, t.id DESC LIMIT ` + q.arg(relatedItems)
	if err := sqlx.SelectContext(ctx, db, &rel, stmt, q.args...); err != nil {
		return nil, fmt.Errorf("related titles: %w", err)
	}
	return rel, nil
}

// searchTitles returns up to limit titles the viewer may see that match
// text and pass f, ranked as Search says, from offset off.
func searchTitles(ctx context.Context, db sqlx.QueryerContext, v Viewer, text string, f Filter, limit, off int) ([]titleRow, error) {
	words, prefix := queryWords(text)
	// The words restricted to weights A and B (names, tags, people): the
	// words hold only letters and digits, so they are safe in to_tsquery.
	primary := make([]string, len(words))
	for i, w := range words {
		primary[i] = w + ":AB"
		if w == prefix {
			primary[i] = w + ":*AB"
		}
	}
	var q query
	qa, wa, lq := q.arg(text), q.arg(pq.Array(words)), q.arg(strings.ToLower(text))
	tsq := `websearch_to_tsquery('english', ` + qa + `) || websearch_to_tsquery('english', coalesce(fixed, ''))`
	if prefix != "" {
		tsq += ` || to_tsquery('simple', ` + q.arg(prefix+":*") + `)`
	}
	tsqAB := `to_tsquery('english', ` + q.arg(strings.Join(primary, " & ")) + `) || to_tsquery('english', coalesce(fixed_ab, ''))`
	q.visible("t", v)
	f.apply(&q)
	where := q.whereSQL()
	// Ranking reads every matching row, and a common word matches a large
	// part of a big catalog in synopses alone. So the rows ranked are every
	// match in names, tags or people, plus the newest searchOthers
	// matches elsewhere: the cost stays bounded and a name match is never
	// left out.
	stmt := `WITH fix AS (
			SELECT string_agg(f.word, ' ' ORDER BY f.i) AS fixed, string_agg(f.word || ':AB', ' & ' ORDER BY f.i) AS fixed_ab
			FROM (SELECT u.i, coalesce(
				(SELECT w.word FROM content.search_words w WHERE w.word = u.w),
				(SELECT w.word FROM content.search_words w WHERE w.word % u.w ORDER BY similarity(w.word, u.w) DESC, w.word LIMIT 1),
				u.w) AS word
				FROM unnest(` + wa + `::text[]) WITH ORDINALITY AS u(w, i)) f),
		m AS (SELECT ` + tsq + ` AS q, ` + tsqAB + ` AS qab FROM fix),
		cand AS (
			(SELECT t.id FROM m, content.titles t` + where + ` AND t.search @@ m.qab)
			UNION
			(SELECT t.id FROM m, content.titles t` + where + ` AND t.search @@ m.q
			 ORDER BY t.published_at DESC, t.id DESC LIMIT ` + q.arg(searchOthers) + `))
		SELECT ` + titleCols + `, ts_rank_cd(t.search, m.q) + similarity(lower(t.name), ` + lq + `) AS score
		FROM m, cand JOIN content.titles t ON t.id = cand.id
		ORDER BY score DESC, t.id LIMIT ` + q.arg(limit) + ` OFFSET ` + q.arg(off)
	var rows []titleRow
	if err := sqlx.SelectContext(ctx, db, &rows, stmt, q.args...); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return rows, nil
}

// suggestTitles returns up to 10 titles the viewer may see whose name
// starts with text (any case), shortest names first.
func suggestTitles(ctx context.Context, db sqlx.QueryerContext, v Viewer, text string) ([]Suggestion, error) {
	// LIKE's wildcards in the input are literal characters.
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(text))
	var q query
	q.visible("t", v)
	q.and(`lower(t.name) LIKE ` + q.arg(esc+"%"))
	out := []Suggestion{}
	stmt := `SELECT t.id, t.name, t.kind, t.release_year FROM content.titles t` + q.whereSQL() +
		` ORDER BY length(t.name), t.name, t.id LIMIT 10`
	if err := sqlx.SelectContext(ctx, db, &out, stmt, q.args...); err != nil {
		return nil, fmt.Errorf("suggest: %w", err)
	}
	return out, nil
}
