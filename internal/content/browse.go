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
	rows, err := listTitles(ctx, s.db, v, f, after, limit+1)
	if err != nil {
		return Page{}, err
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
	genres, err := homeGenres(ctx, s.db, v)
	if err != nil {
		return h, err
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

// Title returns a title page: details, people, seasons with episodes and
// related titles. It returns ErrTitleNotFound when the viewer may not see it.
func (s *Service) Title(ctx context.Context, v Viewer, id string) (TitleDetails, error) {
	row, err := findVisible(ctx, s.db, v, id)
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
	rel, err := relatedTitles(ctx, s.db, v, row.ID)
	if err != nil {
		return d, err
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
	row, err := findVisible(ctx, s.db, v, id)
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
	rows, err := searchTitles(ctx, s.db, v, text, f, limit+1, off)
	if err != nil {
		return Page{}, err
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
	items, err := suggestTitles(ctx, s.db, v, text)
	if err != nil {
		return SuggestList{}, err
	}
	return SuggestList{Items: items}, nil
}
