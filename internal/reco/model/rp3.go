package model

import (
	"fmt"
	"math"
)

// RP3beta is the random walk user → item → user → item of Paudel et al.
// (2017) with popularity penalised (Christoffel et al.): with P_ui the
// user's row normalised to sum 1 and P_iu the item's column normalised to
// sum 1, both raised elementwise to Alpha,
//
//	W(i,j) = Σ_u P_iu(i,u)^α · P_ui(u,j)^α / deg(j)^β,
//
// keeping the TopK entries of each row. A history scores j by Σ_i h_i·W(i,j).
// The cost is that of ItemKNN: Σ_u |row u|² multiply-adds to fit, 8 bytes
// per kept entry (TopK·items). It is sparse: any catalog size.
type RP3beta struct {
	// Alpha is the exponent on transition probabilities; zero means 1.
	Alpha float64
	// Beta is the popularity penalty; zero means none. NewRP3beta uses 0.4.
	Beta float64
	// TopK is how many entries each item row keeps; zero means 200.
	TopK int

	nb *neighbours
}

// NewRP3beta returns RP3β with α = 1, β = 0.4 and 200 neighbours per
// item, settings that do well on MovieLens-sized data (Dacrema et al.
// tuned α 1.23, β 0.38, topK 348 on ML-20M).
func NewRP3beta() *RP3beta { return &RP3beta{Alpha: 1, Beta: 0.4, TopK: 200} }

func (m *RP3beta) params() (float64, float64, int) {
	a, k := m.Alpha, m.TopK
	if a <= 0 {
		a = 1
	}
	if k <= 0 {
		k = 200
	}
	return a, m.Beta, k
}

// Name implements Model.
func (m *RP3beta) Name() string {
	a, b, k := m.params()
	return fmt.Sprintf("RP3beta(α=%g,β=%g,k=%d)", a, b, k)
}

// Fit implements Model.
func (m *RP3beta) Fit(x *Matrix) error {
	alpha, beta, k := m.params()
	nu, ni := x.NumUsers(), x.NumItems()
	rowSum := make([]float64, nu)
	for u := range nu {
		for _, w := range x.Row(u).Weights {
			rowSum[u] += float64(w)
		}
	}
	colSum := make([]float64, ni)
	deg := make([]float64, ni)
	for i := range ni {
		c := x.Col(i)
		for _, w := range c.Weights {
			colSum[i] += float64(w)
		}
		deg[i] = math.Pow(float64(c.Len()), beta)
	}
	pow := func(v float64) float64 {
		if alpha == 1 {
			return v
		}
		return math.Pow(v, alpha)
	}
	a := func(_, i int, w float32) float64 { return pow(float64(w) / colSum[i]) }
	b := func(u, _ int, w float32) float64 { return pow(float64(w) / rowSum[u]) }
	rows := make([][]Scored, ni)
	cooccur(x, a, b, func(i int, acc []float64, touched []int32) {
		for _, j := range touched {
			acc[j] /= deg[j]
		}
		rows[i] = pruneRow(i, acc, touched, k, nil)
	})
	m.nb = newNeighbours(rows)
	return nil
}

// Score implements Model.
func (m *RP3beta) Score(h Vector, dst []float32) { m.nb.scatter(h, dst) }

// Similar implements Model.
func (m *RP3beta) Similar(item, k int) []Scored { return m.nb.similar(item, k) }
