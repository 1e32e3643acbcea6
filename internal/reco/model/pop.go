package model

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Popularity recommends the same items to everyone: those with the most
// interactions, each weighted by 0.5^(age/HalfLife) where age is the time
// between the interaction and Now. With HalfLife zero it is MostPop: the
// number of users of each item, the baseline every learned model must
// beat. Given Genres it also ranks within a genre (TopInGenre) and orders
// genres by a profile's taste (GenreTaste). Memory: one float32 per item.
type Popularity struct {
	// HalfLife is the decay half-life; zero means no decay and a count of
	// users per item (MostPop).
	HalfLife time.Duration
	// Now is the time ages are measured from; zero means the latest
	// interaction in the fitted matrix, so that a fit is reproducible.
	Now time.Time
	// Genres maps external item ids to their genres (optional).
	Genres map[int64][]string

	x      *Matrix
	pop    []float32
	rank   []Scored         // every item, most popular first
	genres map[string][]int // genre -> item indices, most popular first
	itemG  [][]string
}

// NewMostPop returns the undecayed popularity baseline.
func NewMostPop() *Popularity { return &Popularity{} }

// NewPopularity returns popularity with a decay half-life and optional genres.
func NewPopularity(halfLife time.Duration, genres map[int64][]string) *Popularity {
	return &Popularity{HalfLife: halfLife, Genres: genres}
}

// Name implements Model.
func (p *Popularity) Name() string {
	if p.HalfLife == 0 {
		return "MostPop"
	}
	return fmt.Sprintf("PopDecay(half-life=%s)", shortDuration(p.HalfLife))
}

// Fit implements Model.
func (p *Popularity) Fit(x *Matrix) error {
	p.x = x
	ni := x.NumItems()
	p.pop = make([]float32, ni)
	now := p.Now
	if now.IsZero() {
		now = x.MaxTime()
	}
	half := p.HalfLife.Seconds()
	for i := range ni {
		if half == 0 {
			p.pop[i] = float32(x.colPtr[i+1] - x.colPtr[i])
		}
	}
	if half > 0 {
		for u := range x.NumUsers() {
			row, ts := x.Row(u), x.RowTimes(u)
			for k, i := range row.Items {
				age := math.Max(0, float64(now.Unix()-ts[k]))
				p.pop[i] += row.Weights[k] * float32(math.Exp2(-age/half))
			}
		}
	}
	p.rank = topN(p.pop, ni, nil)
	p.genres = map[string][]int{}
	p.itemG = make([][]string, ni)
	for id, gs := range p.Genres {
		if i, ok := x.Items.Of(id); ok {
			p.itemG[i] = gs
		}
	}
	for _, s := range p.rank {
		for _, g := range p.itemG[s.Item] {
			p.genres[g] = append(p.genres[g], s.Item)
		}
	}
	return nil
}

// Score implements Model: the same popularity for every history.
func (p *Popularity) Score(_ Vector, dst []float32) { copy(dst, p.pop) }

// Similar implements Model: the most popular items sharing a genre with
// item (or the most popular overall when item has no genre).
func (p *Popularity) Similar(item, k int) []Scored {
	var out []Scored
	var share func(int) bool
	if item >= 0 && item < len(p.itemG) && len(p.itemG[item]) > 0 {
		share = func(j int) bool {
			for _, g := range p.itemG[j] {
				if slices.Contains(p.itemG[item], g) {
					return true
				}
			}
			return false
		}
	}
	for _, s := range p.rank {
		if len(out) == k {
			break
		}
		if s.Item != item && (share == nil || share(s.Item)) {
			out = append(out, s)
		}
	}
	return out
}

// TopInGenre returns up to n items of genre, most popular first, skipping
// those for which exclude (may be nil) returns true.
func (p *Popularity) TopInGenre(genre string, n int, exclude func(int) bool) []Scored {
	var out []Scored
	for _, i := range p.genres[genre] {
		if len(out) == n {
			break
		}
		if exclude == nil || !exclude(i) {
			out = append(out, Scored{i, p.pop[i]})
		}
	}
	return out
}

// GenreTaste returns the genres of the items in h, ordered by the summed
// weight h gives them (ties by name): the order of a profile's genre rows.
func (p *Popularity) GenreTaste(h Vector) []string {
	w := map[string]float64{}
	for k, i := range h.Items {
		if int(i) < len(p.itemG) {
			for _, g := range p.itemG[i] {
				w[g] += float64(h.Weights[k])
			}
		}
	}
	gs := make([]string, 0, len(w))
	for g := range w {
		gs = append(gs, g)
	}
	slices.SortFunc(gs, func(a, b string) int {
		if w[a] != w[b] {
			if w[a] > w[b] {
				return -1
			}
			return 1
		}
		if a < b {
			return -1
		}
		return 1
	})
	return gs
}

func shortDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
