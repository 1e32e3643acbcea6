package reco

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/streamflix/streamflix/internal/reco/model"
)

// catalogView is the catalog as reco ranks it, cached briefly per instance.
type catalogView struct {
	items   []Item
	byID    map[string]*Item
	genres  map[string]Genre    // slug -> genre
	inGenre map[string][]string // slug -> title ids, newest first
	newest  []string            // every title, newest published first
	at      time.Time
}

// catalogTTL is how long an instance reuses its copy of the catalog for
// new releases and genre rows.
const catalogTTL = 10 * time.Second

func (s *Service) items(ctx context.Context) (*catalogView, error) {
	s.catMu.Lock()
	c := s.catalogCopy
	s.catMu.Unlock()
	if c != nil && time.Since(c.at) < catalogTTL {
		return c, nil
	}
	c, err := s.loadCatalog(ctx)
	if err != nil {
		return nil, err
	}
	s.catMu.Lock()
	s.catalogCopy = c
	s.catMu.Unlock()
	return c, nil
}

func (s *Service) loadCatalog(ctx context.Context) (*catalogView, error) {
	items, err := s.catalog.Items(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog items: %w", err)
	}
	slices.SortStableFunc(items, func(a, b Item) int { return b.PublishedAt.Compare(a.PublishedAt) })
	c := &catalogView{items: items, byID: make(map[string]*Item, len(items)), genres: map[string]Genre{}, inGenre: map[string][]string{}, at: time.Now()}
	for i := range items {
		it := &items[i]
		c.byID[it.ID] = it
		c.newest = append(c.newest, it.ID)
		for _, g := range it.Genres {
			c.genres[g.Slug] = g
			c.inGenre[g.Slug] = append(c.inGenre[g.Slug], it.ID)
		}
	}
	return c, nil
}

// signals are everything one profile (or every profile) has told reco.
type signals struct {
	watches []watchRow
	ratings []ratingRow
	list    []listRow
	picks   []picksRow
}

func loadSignals(ctx context.Context, s *Service, profile string, since time.Time) (signals, error) {
	var sg signals
	var err error
	if profile == "" {
		sg.watches, err = allWatches(ctx, s.db, since)
	} else {
		sg.watches, err = profileWatches(ctx, s.db, profile)
	}
	if err != nil {
		return sg, err
	}
	if sg.ratings, err = ratingsOf(ctx, s.db, profile); err != nil {
		return sg, err
	}
	if sg.list, err = listOf(ctx, s.db, profile); err != nil {
		return sg, err
	}
	sg.picks, err = picksOf(ctx, s.db, profile)
	return sg, err
}

// watchFraction is how much of a title a profile has seen: a movie's
// furthest position over its runtime (1 once finished), a series'
// finished episodes over its episodes.
func watchFraction(w watchRow, it *Item) float64 {
	switch {
	case it.Kind == "series" && it.Episodes > 0:
		return min(1, float64(w.Completes)/float64(it.Episodes))
	case w.Completes > 0:
		return 1
	case it.RuntimeS > 0:
		return w.MaxPositionS / float64(it.RuntimeS)
	}
	return 0.1
}

// finished reports whether the profile has seen all of the title.
func finished(w watchRow, it *Item) bool {
	if it.Kind == "series" {
		return it.Episodes > 0 && w.Completes >= it.Episodes
	}
	return w.Completes > 0
}

// watchWeight is the implicit weight of a profile's watching of a title
// (model.WatchWeight of the fraction seen; each rewatch of a finished
// movie adds half a watch, up to model.MaxWeight).
func watchWeight(w watchRow, it *Item) float64 {
	wt := model.WatchWeight(watchFraction(w, it))
	if it.Kind != "series" && w.Completes > 1 {
		wt += 0.5 * float64(w.Completes-1)
	}
	return wt
}

// events turns signals into model events over the catalog's titles; ids
// maps profile and title ids to the model's int64 ids.
func (sg signals) events(cat *catalogView, ids *idMap) []model.Event {
	var out []model.Event
	add := func(profile, title string, w float64, at time.Time) {
		if _, ok := cat.byID[title]; !ok {
			return
		}
		out = append(out, model.Event{User: ids.of(profile), Item: ids.of(title), Weight: w, Time: at})
	}
	for _, w := range sg.watches {
		if it, ok := cat.byID[w.TitleID]; ok {
			add(w.ProfileID, w.TitleID, watchWeight(w, it), w.LastAt)
		}
	}
	for _, r := range sg.ratings {
		w := model.ThumbsUpWeight
		if r.Rating < 0 {
			w = model.ThumbsDown
		}
		add(r.ProfileID, r.TitleID, w, r.At)
	}
	for _, l := range sg.list {
		add(l.ProfileID, l.TitleID, model.MyListWeight, l.At)
	}
	for _, p := range sg.picks {
		for _, t := range p.TitleIDs {
			add(p.ProfileID, t, model.MyListWeight, p.At)
		}
	}
	return out
}

// idMap gives string ids the int64 ids the model package works with.
type idMap struct {
	ids map[string]int64
	rev []string
}

func newIDMap() *idMap { return &idMap{ids: map[string]int64{}} }

func (m *idMap) of(s string) int64 {
	if v, ok := m.ids[s]; ok {
		return v
	}
	m.rev = append(m.rev, s)
	m.ids[s] = int64(len(m.rev))
	return int64(len(m.rev))
}

func (m *idMap) str(v int64) string { return m.rev[v-1] }

// servedModel is the current model as an instance serves it: its item
// weights (for nearline rescoring, "Because you watched" and "More like
// this") and its popularity lists, loaded once per version.
type servedModel struct {
	row     modelRow
	items   []string       // index -> title id
	pos     map[string]int // title id -> index
	ii      *model.Stored  // nil for a popularity model without weights
	popular map[string]ranked
	checked time.Time
}

// modelCheck is how often an instance looks for a newer model.
const modelCheck = 5 * time.Second

// served returns the current model, or nil before the first retrain.
func (s *Service) served(ctx context.Context) (*servedModel, error) {
	s.modelMu.Lock()
	defer s.modelMu.Unlock()
	if s.current != nil && time.Since(s.current.checked) < modelCheck {
		return s.current, nil
	}
	row, err := latestModel(ctx, s.db)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("current model: %w", err)
	}
	if s.current != nil && s.current.row.Version == row.Version {
		s.current.checked = time.Now()
		return s.current, nil
	}
	m, err := s.loadModel(ctx, row)
	if err != nil {
		return nil, err
	}
	s.current = m
	return m, nil
}

func (s *Service) loadModel(ctx context.Context, row modelRow) (*servedModel, error) {
	m := &servedModel{row: row, pos: map[string]int{}, checked: time.Now()}
	index := func(id string) int {
		if i, ok := m.pos[id]; ok {
			return i
		}
		m.pos[id] = len(m.items)
		m.items = append(m.items, id)
		return len(m.items) - 1
	}
	nb, err := neighbourRows(ctx, s.db, row.Version)
	if err != nil {
		return nil, err
	}
	if m.popular, err = popularOf(ctx, s.db, row.Version); err != nil {
		return nil, err
	}
	for id := range nb {
		index(id)
	}
	for _, p := range m.popular {
		for _, id := range p.IDs {
			index(id)
		}
	}
	if row.Kind == kindItemItem {
		rows := make([][]model.Scored, 0, len(m.items))
		for id, r := range nb {
			i := m.pos[id]
			for len(rows) <= i {
				rows = append(rows, nil)
			}
			sc := make([]model.Scored, len(r.IDs))
			for k, j := range r.IDs {
				sc[k] = model.Scored{Item: index(j), Score: r.Scores[k]}
			}
			rows[i] = sc
		}
		for len(rows) < len(m.items) {
			rows = append(rows, nil)
		}
		m.ii = model.NewStored(row.Model, rows)
	}
	return m, nil
}

// Model kinds.
const (
	kindItemItem   = "item_item"
	kindPopularity = "popularity"
)

// score ranks titles for one profile by the served model from its
// signals: the history times the item weights, or popularity; the
// history and disliked titles left out.
func (m *servedModel) score(sg signals, cat *catalogView, n int) ranked {
	ids := newIDMap()
	evs := sg.events(cat, ids)
	hist := map[int]float32{}
	disliked := map[int]bool{}
	for _, e := range evs {
		i, ok := m.pos[ids.str(e.Item)]
		if !ok {
			continue
		}
		if e.Weight < 0 {
			disliked[i] = true
			continue
		}
		hist[i] = min(hist[i]+float32(e.Weight), model.MaxWeight)
	}
	var h model.Vector
	for i := range hist {
		if !disliked[i] {
			h.Items = append(h.Items, int32(i))
		}
	}
	slices.Sort(h.Items)
	for _, i := range h.Items {
		h.Weights = append(h.Weights, hist[int(i)])
	}
	var out ranked
	if m.ii == nil || h.Len() == 0 {
		// No learned weights, or nothing to multiply them by.
		for _, id := range m.popular[""].IDs {
			i := m.pos[id]
			if len(out.IDs) == n {
				break
			}
			if !h.Has(i) && !disliked[i] {
				out.IDs = append(out.IDs, id)
				out.Scores = append(out.Scores, 0)
			}
		}
		return out
	}
	for _, sc := range model.Recommend(m.ii, len(m.items), h, n, func(i int) bool { return disliked[i] }) {
		if sc.Score <= 0 {
			break
		}
		out.IDs = append(out.IDs, m.items[sc.Item])
		out.Scores = append(out.Scores, sc.Score)
	}
	return fillPopular(out, m.popular[""], n, func(id string) bool {
		i := m.pos[id]
		return h.Has(i) || disliked[i]
	})
}

// similar returns up to k titles most like id by the served model.
func (m *servedModel) similar(id string, k int) []string {
	if m == nil || m.ii == nil {
		return nil
	}
	i, ok := m.pos[id]
	if !ok {
		return nil
	}
	var out []string
	for _, sc := range m.ii.Similar(i, k) {
		out = append(out, m.items[sc.Item])
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }
