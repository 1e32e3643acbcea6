package model

// ItemItem is a model whose scores are a history times a sparse item ×
// item matrix W: score(j) = Σ_i h_i·W(i,j). ItemKNN, RP3beta and EASE are
// ones (EASE's W is B), and a Tuned whose choice is one. Such a model can
// be stored row by row and served again by NewStored without refitting:
// what nearline rescoring does.
type ItemItem interface {
	Model
	// Weights returns row i of W, largest weight first (negative weights
	// included); nil before Fit or when i is out of range.
	Weights(i int) []Scored
}

// Weights implements ItemItem.
func (m *ItemKNN) Weights(i int) []Scored { return m.nb.row(i) }

// Weights implements ItemItem.
func (m *RP3beta) Weights(i int) []Scored { return m.nb.row(i) }

// Weights implements ItemItem.
func (m *EASE) Weights(i int) []Scored { return m.nb.row(i) }

// AsItemItem returns m as an ItemItem when it is one (a Tuned when its
// chosen candidate is), and false otherwise (popularity).
func AsItemItem(m Model) (ItemItem, bool) {
	if t, ok := m.(*Tuned); ok {
		m = t.Best()
	}
	ii, ok := m.(ItemItem)
	return ii, ok
}

// row returns a copy of row i.
func (nb *neighbours) row(i int) []Scored {
	if nb == nil || i < 0 || i >= len(nb.ptr)-1 {
		return nil
	}
	out := make([]Scored, 0, nb.ptr[i+1]-nb.ptr[i])
	for p := nb.ptr[i]; p < nb.ptr[i+1]; p++ {
		out = append(out, Scored{int(nb.items[p]), nb.w[p]})
	}
	return out
}

// Stored is an ItemItem model rebuilt from its rows, as a retrain stored
// them: it scores and finds similar items exactly as the fitted model did.
// Fit does nothing. Memory: 8 bytes per entry.
type Stored struct {
	name string
	nb   *neighbours
}

// NewStored returns the model named name whose row i of W is rows[i]
// (largest weight first).
func NewStored(name string, rows [][]Scored) *Stored {
	return &Stored{name: name, nb: newNeighbours(rows)}
}

// Name implements Model.
func (s *Stored) Name() string { return s.name }

// Fit implements Model: a stored model is already fitted.
func (s *Stored) Fit(*Matrix) error { return nil }

// Score implements Model.
func (s *Stored) Score(h Vector, dst []float32) { s.nb.scatter(h, dst) }

// Similar implements Model.
func (s *Stored) Similar(item, k int) []Scored { return s.nb.similar(item, k) }

// Weights implements ItemItem.
func (s *Stored) Weights(i int) []Scored { return s.nb.row(i) }

// NumItems returns the number of rows.
func (s *Stored) NumItems() int { return len(s.nb.ptr) - 1 }
