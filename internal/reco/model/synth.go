package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// SyntheticConfig shapes a synthetic interaction set with planted
// structure: items fall into Clusters; each user likes one or two
// clusters and draws most of its items from them; item popularity
// follows a Zipf law with exponent PopSkew, so a few items are everywhere
// and most are rare; user activity is long-tailed with at least
// MinPerUser items.
type SyntheticConfig struct {
	Users, Items, Interactions int
	// Clusters is the number of taste clusters; zero means 20.
	Clusters int
	// Taste is the chance that an interaction comes from the user's
	// clusters rather than from global popularity; zero means 0.8.
	Taste float64
	// PopSkew is the Zipf exponent of item popularity; zero means 0.9.
	PopSkew float64
	// MinPerUser is the least number of items per user; zero means 20
	// (as in MovieLens), capped by Interactions/Users.
	MinPerUser int
	// Seed makes the set reproducible.
	Seed uint64
	// Start is the time of the first interaction; zero means 1997-09-20
	// (ML-100k's start). Interactions spread over Span (zero: 214 days).
	Start time.Time
	Span  time.Duration
}

// ML100kConfig is a synthetic set of the size of MovieLens-100k: 943
// users, 1,682 items, 100,000 interactions.
func ML100kConfig(seed uint64) SyntheticConfig {
	return SyntheticConfig{Users: 943, Items: 1682, Interactions: 100000, Seed: seed}
}

// Synthetic returns events (weight 1, distinct user-item pairs) drawn as
// cfg says, with user ids 1..Users and item ids 1..Items, and each item's
// cluster (indexed by item id − 1), the planted truth. It returns fewer
// interactions than asked only when the users cannot hold them all.
func Synthetic(cfg SyntheticConfig) ([]Event, []int) {
	if cfg.Clusters <= 0 {
		cfg.Clusters = 20
	}
	if cfg.Taste <= 0 {
		cfg.Taste = 0.8
	}
	if cfg.PopSkew <= 0 {
		cfg.PopSkew = 0.9
	}
	if cfg.MinPerUser <= 0 {
		cfg.MinPerUser = 20
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(1997, 9, 20, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Span <= 0 {
		cfg.Span = 214 * 24 * time.Hour
	}
	nu, ni := cfg.Users, cfg.Items
	if nu <= 0 || ni <= 0 {
		return nil, nil
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5851f42d4c957f2d))
	cluster := make([]int, ni)
	for i := range cluster {
		cluster[i] = rng.IntN(cfg.Clusters)
	}
	pop := make([]float64, ni)
	for r, i := range rng.Perm(ni) {
		pop[i] = 1 / math.Pow(float64(r+1), cfg.PopSkew)
	}
	global := cumulative(pop, nil)
	members := make([][]int, cfg.Clusters)
	for i, c := range cluster {
		members[c] = append(members[c], i)
	}
	inCluster := make([][]float64, cfg.Clusters)
	for c, ms := range members {
		inCluster[c] = cumulative(pop, ms)
	}

	// Activity: lognormal shares of what is left above the minimum.
	minU := min(cfg.MinPerUser, cfg.Interactions/nu)
	counts := make([]int, nu)
	shares := make([]float64, nu)
	var sum float64
	for u := range shares {
		shares[u] = math.Exp(rng.NormFloat64() * 1.0)
		sum += shares[u]
	}
	left := cfg.Interactions - minU*nu
	capU := ni * 3 / 4
	total := 0
	for u := range counts {
		counts[u] = min(capU, minU+int(float64(left)*shares[u]/sum))
		total += counts[u]
	}
	for u := 0; total < cfg.Interactions && u < 100*nu; u++ { // rounding leftovers
		if counts[u%nu] < capU {
			counts[u%nu]++
			total++
		}
	}

	events := make([]Event, 0, total)
	seen := map[int]bool{}
	span := int64(cfg.Span / time.Second)
	for u := range nu {
		likes := []int{rng.IntN(cfg.Clusters)}
		if rng.Float64() < 0.5 {
			likes = append(likes, rng.IntN(cfg.Clusters))
		}
		clear(seen)
		for tries := 0; len(seen) < counts[u] && tries < 50*counts[u]; tries++ {
			var i int
			if c := likes[0]; rng.Float64() < cfg.Taste && len(members[c]) > 0 {
				if len(likes) > 1 && rng.Float64() < 0.4 {
					c = likes[1]
				}
				if len(members[c]) == 0 {
					continue
				}
				i = members[c][draw(rng, inCluster[c])]
			} else {
				i = draw(rng, global)
			}
			if seen[i] {
				continue
			}
			seen[i] = true
			events = append(events, Event{
				User: int64(u + 1), Item: int64(i + 1), Weight: 1,
				Time: cfg.Start.Add(time.Duration(rng.Int64N(span)) * time.Second),
			})
		}
	}
	return events, cluster
}

// cumulative returns the running sums of w over idx (all of w when idx is nil).
func cumulative(w []float64, idx []int) []float64 {
	var out []float64
	var s float64
	if idx == nil {
		for _, v := range w {
			s += v
			out = append(out, s)
		}
		return out
	}
	for _, i := range idx {
		s += w[i]
		out = append(out, s)
	}
	return out
}

// draw picks an index with chance proportional to its share of cum.
func draw(rng *rand.Rand, cum []float64) int {
	x := rng.Float64() * cum[len(cum)-1]
	i, _ := slices.BinarySearch(cum, x)
	return min(i, len(cum)-1)
}
