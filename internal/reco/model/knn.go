package model

import (
	"fmt"
	"math"
)

// ItemKNN is item-item collaborative filtering: the cosine similarity of
// two items' user columns, s(i,j) = x_i·x_j / (‖x_i‖‖x_j‖ + Shrink), keeping
// the TopK most similar items of each. A history scores item j by
// Σ_i h_i·s(i,j). Fitting costs Σ_u |row u|² multiply-adds; memory is 8
// bytes per kept neighbour (TopK·items) plus one float64 per item per core
// while fitting. It is sparse: any catalog size.
type ItemKNN struct {
	// TopK is how many neighbours each item keeps; zero means 100.
	TopK int
	// Shrink damps similarities resting on few users; zero means 10.
	Shrink float64

	nb *neighbours
}

// NewItemKNN returns an ItemKNN with the given neighbourhood size (0 for the default).
func NewItemKNN(topK int) *ItemKNN { return &ItemKNN{TopK: topK} }

func (m *ItemKNN) params() (int, float64) {
	k, s := m.TopK, m.Shrink
	if k <= 0 {
		k = 100
	}
	if s <= 0 {
		s = 10
	}
	return k, s
}

// Name implements Model.
func (m *ItemKNN) Name() string {
	k, s := m.params()
	return fmt.Sprintf("ItemKNN(k=%d,shrink=%g)", k, s)
}

// Fit implements Model.
func (m *ItemKNN) Fit(x *Matrix) error {
	k, shrink := m.params()
	ni := x.NumItems()
	norm := make([]float64, ni)
	for i := range ni {
		for _, w := range x.Col(i).Weights {
			norm[i] += float64(w) * float64(w)
		}
		norm[i] = math.Sqrt(norm[i])
	}
	rows := make([][]Scored, ni)
	cooccur(x, nil, nil, func(i int, acc []float64, touched []int32) {
		for _, j := range touched {
			acc[j] /= norm[i]*norm[j] + shrink
		}
		rows[i] = pruneRow(i, acc, touched, k, nil)
	})
	m.nb = newNeighbours(rows)
	return nil
}

// Score implements Model.
func (m *ItemKNN) Score(h Vector, dst []float32) { m.nb.scatter(h, dst) }

// Similar implements Model.
func (m *ItemKNN) Similar(item, k int) []Scored { return m.nb.similar(item, k) }
