package content

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lib/pq"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// Page is one page of a list.
type Page struct {
	Items      []Title `json:"items"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// cursor is where a page ends: a keyset position for browse lists, an
// offset for ranked search results. It travels as opaque base64url JSON.
type cursor struct {
	P  *time.Time `json:"p,omitempty"`
	ID string     `json:"i,omitempty"`
	O  int        `json:"o,omitempty"`
}

var errCursor = apperr.Validation(apperr.FieldError{Field: "cursor", Code: "invalid", Message: "Use next_cursor from the previous page."})

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	if len(s) > 200 {
		return c, errCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, errCursor
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, errCursor
	}
	return c, nil
}

// keyset returns the browse position in s, or an error naming cursor.
func keyset(s string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	c, err := decodeCursor(s)
	if err != nil || c.P == nil || !validUUID(c.ID) || c.O != 0 {
		return nil, errCursor
	}
	return &c, nil
}

// offset returns the search position in s, or an error naming cursor.
func offset(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	c, err := decodeCursor(s)
	if err != nil || c.P != nil || c.ID != "" || c.O < 1 || c.O > 10000 {
		return 0, errCursor
	}
	return c.O, nil
}

// Filter narrows browse and search lists. Zero values do not filter.
type Filter struct {
	Genre    string // slug
	Kind     string // movie or series
	Year     int
	Language string
	// Limit is the page size (callers pass 1 to 100).
	Limit  int
	Cursor string
}

func (f Filter) validate() error {
	var fe fieldErrs
	if f.Kind != "" && f.Kind != KindMovie && f.Kind != KindSeries {
		fe.add("kind", "invalid", `Must be "movie" or "series".`)
	}
	if len(f.Genre) > 60 || !cleanText(f.Genre) {
		fe.add("genre", "invalid", "Must be a genre slug.")
	}
	if len(f.Language) > 10 || !cleanText(f.Language) {
		fe.add("language", "invalid", "Must be a language code.")
	}
	if f.Year != 0 && (f.Year < 1870 || f.Year > 2200) {
		fe.add("year", "out_of_range", "Must be a year from 1870 to 2200.")
	}
	return fe.err()
}

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

func limitOf(n int) int {
	if n < 1 || n > 100 {
		return 20
	}
	return n
}

// Titles lists the titles the viewer may see, newest published first. It
// returns a validation error for a bad filter or cursor.
func (s *Service) Titles(ctx context.Context, v Viewer, f Filter) (Page, error) {
	if err := f.validate(); err != nil {
		return Page{}, err
	}
	after, err := keyset(f.Cursor)
	if err != nil {
		return Page{}, err
	}
	limit := limitOf(f.Limit)
	var q query
	q.visible("t", v)
	f.apply(&q)
	if after != nil {
		q.and(`(t.published_at, t.id) < (` + q.arg(*after.P) + `, ` + q.arg(after.ID) + `::uuid)`)
	}
	var rows []titleRow
	stmt := `SELECT ` + titleCols + ` FROM content.titles t` + q.whereSQL() +
		` ORDER BY t.published_at DESC, t.id DESC LIMIT ` + q.arg(limit+1)
	if err := s.db.SelectContext(ctx, &rows, stmt, q.args...); err != nil {
		return Page{}, fmt.Errorf("list titles: %w", err)
	}
	p := Page{Items: titles(rows, s.cfg.MediaURL)}
	if len(rows) > limit {
		p.Items = p.Items[:limit]
		last := rows[limit-1]
		at := last.PublishedAt.Time
		p.NextCursor = cursor{P: &at, ID: last.ID}.encode()
	}
	return p, nil
}

// Row is one row of the home page.
type Row struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Genre is the slug to page the row with GET /titles?genre=&cursor=;
	// empty for the new-releases row (GET /titles?cursor=).
	Genre      string  `json:"genre,omitempty"`
	Items      []Title `json:"items"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// Home is the home page: new releases, then a row per genre with titles.
type Home struct {
	Rows []Row `json:"rows"`
}

// Home returns the viewer's home rows. Empty rows are left out.
func (s *Service) Home(ctx context.Context, v Viewer) (Home, error) {
	h := Home{Rows: []Row{}}
	p, err := s.Titles(ctx, v, Filter{Limit: rowItems})
	if err != nil {
		return h, err
	}
	if len(p.Items) == 0 {
		return h, nil
	}
	h.Rows = append(h.Rows, Row{ID: "new", Title: "New releases", Items: p.Items, NextCursor: p.NextCursor})
	var q query
	q.visible("t", v)
	var genres []Genre
	stmt := `SELECT g.id, g.slug, g.name FROM content.genres g WHERE EXISTS (
		SELECT 1 FROM content.title_genres tg JOIN content.titles t ON t.id = tg.title_id` + q.whereSQL() + ` AND tg.genre_id = g.id)
		ORDER BY g.name, g.slug LIMIT ` + q.arg(maxRows)
	if err := s.db.SelectContext(ctx, &genres, stmt, q.args...); err != nil {
		return h, fmt.Errorf("home genres: %w", err)
	}
	for _, g := range genres {
		p, err := s.Titles(ctx, v, Filter{Genre: g.Slug, Limit: rowItems})
		if err != nil {
			return h, err
		}
		if len(p.Items) > 0 {
			h.Rows = append(h.Rows, Row{ID: "genre:" + g.Slug, Title: g.Name, Genre: g.Slug, Items: p.Items, NextCursor: p.NextCursor})
		}
	}
	return h, nil
}

// findVisible returns the title if the viewer may see it, else
// ErrTitleNotFound: a title above the profile's ceiling does not exist for it.
func (s *Service) findVisible(ctx context.Context, v Viewer, id string) (titleRow, error) {
	var row titleRow
	if !validUUID(id) {
		return row, ErrTitleNotFound
	}
	var q query
	q.and(`t.id = ` + q.arg(id))
	q.visible("t", v)
	err := s.db.GetContext(ctx, &row, `SELECT `+detailCols+` FROM content.titles t`+q.whereSQL(), q.args...)
	if err != nil {
		return row, notFound(err, ErrTitleNotFound)
	}
	return row, nil
}

// Title returns a title page: details, people, seasons with episodes and
// related titles. It returns ErrTitleNotFound when the viewer may not see it.
func (s *Service) Title(ctx context.Context, v Viewer, id string) (TitleDetails, error) {
	row, err := s.findVisible(ctx, v, id)
	if err != nil {
		return TitleDetails{}, err
	}
	d := row.details(s.cfg.MediaURL)
	if d.People, err = credits(ctx, s.db, row.ID); err != nil {
		return d, err
	}
	if d.Seasons, err = seasons(ctx, s.db, row.ID); err != nil {
		return d, err
	}
	var q query
	idArg := q.arg(row.ID)
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
	if err := s.db.SelectContext(ctx, &rel, stmt, q.args...); err != nil {
		return d, fmt.Errorf("related titles: %w", err)
	}
	d.Related = titles(rel, s.cfg.MediaURL)
	return d, nil
}

// SeasonList is a series' seasons.
type SeasonList struct {
	Items []Season `json:"items"`
}

// Seasons returns a title's seasons and episodes (none for a movie). It
// returns ErrTitleNotFound when the viewer may not see the title.
func (s *Service) Seasons(ctx context.Context, v Viewer, id string) (SeasonList, error) {
	row, err := s.findVisible(ctx, v, id)
	if err != nil {
		return SeasonList{}, err
	}
	ss, err := seasons(ctx, s.db, row.ID)
	return SeasonList{Items: ss}, err
}

// checkQuery validates a search string: required, at most MaxQueryLen
// runes, valid UTF-8.
func checkQuery(q string) (string, error) {
	var f fieldErrs
	switch {
	case !cleanText(q):
		f.add("q", "invalid", "Must be valid UTF-8 text.")
	case utf8.RuneCountInString(q) > MaxQueryLen:
		f.add("q", "too_long", fmt.Sprintf("Must be at most %d characters.", MaxQueryLen))
	case strings.TrimSpace(q) == "":
		f.add("q", "required", "Enter something to search for.")
	}
	return strings.TrimSpace(q), f.err()
}

// maxFixedWords bounds how many words of a query are checked for typos.
const maxFixedWords = 8

// queryWords returns the query's words for typo correction (lowercase, at
// most maxFixedWords) and the last word when the query may still be being
// typed (no trailing space, three characters or more), for a prefix match.
func queryWords(text string) (words []string, prefix string) {
	words = strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > maxFixedWords {
		words = words[:maxFixedWords]
	}
	if n := len(words); n > 0 && !unicode.IsSpace(rune(text[len(text)-1])) && utf8.RuneCountInString(words[n-1]) >= 3 {
		prefix = words[n-1]
	}
	return words, prefix
}

// Search finds titles the viewer may see by full-text match on names,
// people, tags and synopsis, ranked by ts_rank_cd (names weigh most) plus
// the name's trigram similarity to the query. Typos are forgiven by
// correcting each query word to its most similar word in the search
// lexicon (content.search_words) and matching the corrected query too; the
// last word also matches as a prefix, for search as you type. Every path
// runs on the full-text index. The query text only ever travels as a
// parameter. It returns a validation error naming q, a filter or cursor.
func (s *Service) Search(ctx context.Context, v Viewer, text string, f Filter) (Page, error) {
	text, err := checkQuery(text)
	if err != nil {
		return Page{}, err
	}
	if err := f.validate(); err != nil {
		return Page{}, err
	}
	off, err := offset(f.Cursor)
	if err != nil {
		return Page{}, err
	}
	limit := limitOf(f.Limit)
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
		ORDER BY score DESC, t.id LIMIT ` + q.arg(limit+1) + ` OFFSET ` + q.arg(off)
	var rows []titleRow
	if err := s.db.SelectContext(ctx, &rows, stmt, q.args...); err != nil {
		return Page{}, fmt.Errorf("search: %w", err)
	}
	p := Page{Items: titles(rows, s.cfg.MediaURL)}
	if len(rows) > limit {
		p.Items = p.Items[:limit]
		p.NextCursor = cursor{O: off + limit}.encode()
	}
	return p, nil
}

// Suggestion is one autocomplete answer.
type Suggestion struct {
	ID   string `json:"id" db:"id"`
	Name string `json:"name" db:"name"`
	Kind string `json:"kind" db:"kind" jsonschema:"enum=movie,enum=series"`
	Year *int   `json:"year" db:"release_year"`
}

// SuggestList is the answer to an autocomplete request.
type SuggestList struct {
	Items []Suggestion `json:"items"`
}

// Suggest returns up to 10 titles the viewer may see whose name starts
// with text (any case), shortest names first. It returns a validation
// error naming q.
func (s *Service) Suggest(ctx context.Context, v Viewer, text string) (SuggestList, error) {
	text, err := checkQuery(text)
	if err != nil {
		return SuggestList{}, err
	}
	// LIKE's wildcards in the input are literal characters.
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(text))
	var q query
	q.visible("t", v)
	q.and(`lower(t.name) LIKE ` + q.arg(esc+"%"))
	out := SuggestList{Items: []Suggestion{}}
	stmt := `SELECT t.id, t.name, t.kind, t.release_year FROM content.titles t` + q.whereSQL() +
		` ORDER BY length(t.name), t.name, t.id LIMIT 10`
	if err := s.db.SelectContext(ctx, &out.Items, stmt, q.args...); err != nil {
		return out, fmt.Errorf("suggest: %w", err)
	}
	return out, nil
}
