package reco

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// Row kinds, in the order the home rows come in.
const (
	RowContinue = "continue"
	RowTop      = "top"
	RowBecause  = "because"
	RowTrending = "trending"
	RowMyList   = "my-list"
	RowNew      = "new"
	RowGenre    = "genre"
)

// rowItems is how many titles a home row holds; page on with GET
// /recommendations?row=.
const rowItems = 20

// maxGenreRows is how many genre rows the home page has.
const maxGenreRows = 8

// Rows is the profile's home: its rows in order, each saying why.
type Rows struct {
	Rows []Row `json:"rows"`
}

// Row is one row of titles.
type Row struct {
	// ID names the row: continue, top, because:{title_id}, trending,
	// my-list, new or genre:{slug}.
	ID   string `json:"id"`
	Kind string `json:"kind" jsonschema:"enum=continue,enum=top,enum=because,enum=trending,enum=my-list,enum=new,enum=genre"`
	// Title is the row's heading, such as "Because you watched Metropolis".
	Title  string  `json:"title"`
	Reason Reason  `json:"reason"`
	Items  []Title `json:"items"`
	// NextCursor pages the row on with GET /recommendations?row=&cursor=.
	NextCursor string `json:"next_cursor,omitempty"`
}

// Reason says why a row holds what it holds.
type Reason struct {
	// Code is stable: in_progress, personal, cold_start, because_you_watched,
	// popular, my_list, new, genre_taste or genre.
	Code string `json:"code"`
	// Text says it in words.
	Text string `json:"text"`
	// TitleID and TitleName are the seed of a "Because you watched" row.
	TitleID   *string `json:"title_id,omitempty" jsonschema:"format=uuid"`
	TitleName *string `json:"title_name,omitempty"`
	// Genre is a genre row's slug.
	Genre string `json:"genre,omitempty"`
	// Model is the model that ranked the row (Top picks), with its version.
	Model string `json:"model,omitempty"`
}

// RowPage is one page of one row.
type RowPage struct {
	Row
}

// candidate is a row before its titles are checked against the catalog.
type candidate struct {
	Row
	ids []string
}

// Home returns the profile's rows in order: Continue watching, Top
// picks for {profile}, Because you watched {title} (one or two, from
// recent finished watches), Trending now, My List, New releases, then
// genre rows ordered by the profile's taste. Rows without titles are left
// out. Every row leaves out thumbs-down titles and titles the profile may
// not see (maturity ceiling, availability window); the recommendation
// rows leave out finished titles too.
func (s *Service) Home(ctx context.Context, v Viewer) (Rows, error) {
	cands, err := s.candidates(ctx, v, "", "")
	if err != nil {
		return Rows{}, err
	}
	var ids []string
	for _, c := range cands {
		ids = append(ids, c.ids[:min(len(c.ids), 3*rowItems)]...)
	}
	cards, err := s.cards(ctx, v, ids)
	if err != nil {
		return Rows{}, err
	}
	out := Rows{Rows: []Row{}}
	for _, c := range cands {
		r := c.Row
		r.Items = []Title{}
		seen := 0
		for _, id := range c.ids {
			t, ok := cards[id]
			if !ok {
				if seen++; seen > 3*rowItems {
					break
				}
				continue
			}
			if len(r.Items) == rowItems {
				r.NextCursor = encodeOffset(rowItems)
				break
			}
			r.Items = append(r.Items, t)
		}
		if len(r.Items) > 0 {
			out.Rows = append(out.Rows, r)
		}
	}
	return out, nil
}

// Recommendations returns one page of one row: row is top, because (of
// the seed titleID, by default the latest finished title), trending,
// my-list, new, continue or genre:{slug}. It returns a validation error
// naming row, title_id or cursor.
func (s *Service) Recommendations(ctx context.Context, v Viewer, row, titleID string, limit int, cursor string) (RowPage, error) {
	off, err := decodeOffset(cursor)
	if err != nil {
		return RowPage{}, err
	}
	if limit < 1 || limit > 100 {
		limit = 20
	}
	kind, _, _ := strings.Cut(row, ":")
	switch kind {
	case RowContinue, RowTop, RowBecause, RowTrending, RowMyList, RowNew, RowGenre:
	default:
		return RowPage{}, errRow
	}
	if titleID != "" && (kind != RowBecause || len(titleID) != 36 || uuid.Validate(titleID) != nil) {
		return RowPage{}, apperr.Validation(apperr.FieldError{Field: "title_id", Code: "invalid", Message: "Only with row=because, and a title's id."})
	}
	cands, err := s.candidates(ctx, v, row, titleID)
	if err != nil {
		return RowPage{}, err
	}
	var c *candidate
	for i := range cands {
		if cands[i].Kind == kind && (kind != RowGenre || cands[i].ID == row) {
			c = &cands[i]
			break
		}
	}
	if c == nil {
		if kind == RowGenre {
			return RowPage{}, apperr.Validation(apperr.FieldError{Field: "row", Code: "not_found", Message: "No such genre."})
		}
		return RowPage{Row: Row{ID: row, Kind: kind, Items: []Title{}}}, nil
	}
	cards, err := s.cards(ctx, v, c.ids)
	if err != nil {
		return RowPage{}, err
	}
	var visible []Title
	for _, id := range c.ids {
		if t, ok := cards[id]; ok {
			visible = append(visible, t)
		}
	}
	p := RowPage{Row: c.Row}
	p.Items = []Title{}
	if off < len(visible) {
		p.Items = append(p.Items, visible[off:min(off+limit, len(visible))]...)
	}
	if off+limit < len(visible) {
		p.NextCursor = encodeOffset(off + limit)
	}
	return p, nil
}

// candidates builds every row's candidate titles, in home order, before
// the catalog's visibility check. only (a row id) and seed narrow
// "Because you watched" to one seed.
func (s *Service) candidates(ctx context.Context, v Viewer, only, seed string) ([]candidate, error) {
	st, err := s.state(ctx, v)
	if err != nil {
		return nil, err
	}
	cat, err := s.items(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.served(ctx)
	if err != nil {
		return nil, err
	}
	down := set(st.Disliked)
	done := set(st.Finished)
	keep := func(ids []string, dropFinished bool, also ...string) []string {
		out := make([]string, 0, len(ids))
		seen := set(also)
		for _, id := range ids {
			if down[id] || seen[id] || (dropFinished && done[id]) {
				continue
			}
			seen[id] = true
			out = append(out, id)
		}
		return out
	}
	var out []candidate
	add := func(r Row, ids []string) {
		if len(ids) > 0 {
			out = append(out, candidate{Row: r, ids: ids})
		}
	}
	if s.watching != nil && (only == "" || only == RowContinue) {
		ids, err := s.watching.ContinueWatching(ctx, v.AccountID, v.ProfileID)
		if err != nil {
			s.log.Warn().Err(err).Msg("continue watching; row left out")
		}
		add(Row{ID: RowContinue, Kind: RowContinue, Title: "Continue watching", Reason: Reason{Code: "in_progress", Text: "You started these."}}, keep(ids, false))
	}

	// Top picks: the stored top-N, or, for a profile without one yet,
	// its picks' genres and popularity.
	name := st.Name
	if name == "" {
		name = "you"
	}
	top := Row{ID: RowTop, Kind: RowTop, Title: "Top picks for " + name, Reason: Reason{Code: "personal", Text: "Picked for you from what you watch and rate."}}
	topIDs := st.Top
	if len(topIDs) > 0 && m != nil {
		top.Reason.Model = m.row.Model
	}
	if len(topIDs) == 0 {
		top.Reason = Reason{Code: "cold_start", Text: "Popular picks from the genres you like."}
		for _, g := range st.Taste {
			if m != nil {
				topIDs = append(topIDs, m.popular[g].IDs...)
			}
			topIDs = append(topIDs, cat.inGenre[g]...)
		}
		if m != nil {
			topIDs = append(topIDs, m.popular[""].IDs...)
		}
	}
	add(top, keep(topIDs, true))

	// Because you watched: the latest one or two finished titles.
	seeds := st.Finished
	if seed != "" {
		seeds = []string{seed}
	}
	nb := 0
	for _, sd := range seeds {
		if nb == 2 || down[sd] {
			continue
		}
		it, ok := cat.byID[sd]
		if !ok {
			continue
		}
		sim := m.similar(sd, 3*rowItems)
		if len(sim) == 0 {
			sim = sameGenres(cat, it)
		}
		ids := keep(sim, true, sd)
		if len(ids) == 0 {
			continue
		}
		id, nm := sd, it.Name
		add(Row{ID: RowBecause + ":" + sd, Kind: RowBecause, Title: "Because you watched " + it.Name,
			Reason: Reason{Code: "because_you_watched", Text: "Because you watched " + it.Name + ".", TitleID: &id, TitleName: &nm}}, ids)
		nb++
	}
	if m != nil {
		add(Row{ID: RowTrending, Kind: RowTrending, Title: "Trending now", Reason: Reason{Code: "popular", Text: "Watched most this week."}},
			keep(m.popular[""].IDs, true))
	}
	add(Row{ID: RowMyList, Kind: RowMyList, Title: "My List", Reason: Reason{Code: "my_list", Text: "Titles you saved."}}, keep(st.MyList, false))
	add(Row{ID: RowNew, Kind: RowNew, Title: "New releases", Reason: Reason{Code: "new", Text: "Newest on streamflix."}}, keep(cat.newest, false))

	// Genre rows: the profile's taste first, then the rest by name.
	order := slices.Clone(st.Taste)
	var rest []string
	for g := range cat.genres {
		if !slices.Contains(order, g) {
			rest = append(rest, g)
		}
	}
	slices.SortFunc(rest, func(a, b string) int { return strings.Compare(cat.genres[a].Name, cat.genres[b].Name) })
	taste := len(order)
	order = append(order, rest...)
	rows := 0
	for n, g := range order {
		if only == "" && rows == maxGenreRows {
			break
		}
		if strings.HasPrefix(only, RowGenre+":") && only != RowGenre+":"+g {
			continue
		}
		gen, ok := cat.genres[g]
		if !ok {
			continue
		}
		var ids []string
		if m != nil {
			ids = append(ids, m.popular[g].IDs...)
		}
		ids = keep(append(ids, cat.inGenre[g]...), true)
		reason := Reason{Code: "genre", Text: gen.Name + " on streamflix.", Genre: g}
		if n < taste {
			reason = Reason{Code: "genre_taste", Text: "You watch a lot of " + gen.Name + ".", Genre: g}
		}
		if len(ids) > 0 {
			add(Row{ID: RowGenre + ":" + g, Kind: RowGenre, Title: gen.Name, Reason: reason}, ids)
			rows++
		}
	}
	return out, nil
}

// sameGenres is "Because you watched" without a model: titles sharing a
// genre with it, newest first.
func sameGenres(cat *catalogView, it *Item) []string {
	var out []string
	for _, g := range it.Genres {
		out = append(out, cat.inGenre[g.Slug]...)
	}
	return out
}

// cards returns the visible titles among ids, by id.
func (s *Service) cards(ctx context.Context, v Viewer, ids []string) (map[string]Title, error) {
	out := map[string]Title{}
	if len(ids) == 0 {
		return out, nil
	}
	ts, err := s.catalog.Cards(ctx, v.MaturityLevel, dedup(ids))
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		out[t.ID] = t
	}
	return out, nil
}

func set(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

var errCursor = apperr.Validation(apperr.FieldError{Field: "cursor", Code: "invalid", Message: "Use next_cursor from the previous page."})

func encodeOffset(n int) string {
	b, _ := json.Marshal(map[string]int{"o": n})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeOffset(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(s) > 100 {
		return 0, errCursor
	}
	var c map[string]int
	if json.Unmarshal(b, &c) != nil || c["o"] < 1 || c["o"] > 1000 || len(c) != 1 {
		return 0, errCursor
	}
	return c["o"], nil
}
