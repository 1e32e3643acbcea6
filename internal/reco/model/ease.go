package model

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// DefaultEASEMaxItems is the largest catalog dense EASE accepts unless
// told otherwise (RECO_EASE_MAX_ITEMS).
const DefaultEASEMaxItems = 20000

// EASE is Steck's (2019) shallow autoencoder, in closed form: with the
// Gram matrix G = XᵀX + λI and P = G⁻¹, B = I − P·diag(1/diag P), that
// is B(i,j) = −P(i,j)/P(j,j) off the diagonal and 0 on it. A history
// scores j by Σ_i h_i·B(i,j). λ is picked from Lambdas by NDCG@10 on a
// validation split of the training matrix, then B is refitted on all of
// it. B is kept as float32, pruned to the TopK largest |B(i,j)| of each
// column j.
//
// Memory while fitting: two dense n × n float64 matrices (G, whose storage
// is reused for P, and its Cholesky factor), 16·n² bytes: 45 MB at the
// 1,682 items of ML-100k, 220 MB at 3,706 (ML-1M), 6.4 GB at 20,000.
// Time: about n³ flops per λ (Cholesky n³/3, inverse 2n³/3). Kept: 8
// bytes per entry of the pruned B, TopK·n (2.7 MB at 1,682 items). Fit
// returns ErrTooManyItems above MaxItems.
type EASE struct {
	// Lambdas are the candidate regularisations; empty means
	// DefaultEASELambdas. With one value there is no validation split.
	Lambdas []float64
	// MaxItems is the largest catalog accepted; zero means DefaultEASEMaxItems.
	MaxItems int
	// TopK is how many entries of each column of B are kept; zero means 200.
	TopK int
	// Seed and ValidationFraction define the split λ is chosen on; zero
	// means seed 1 and 0.2.
	Seed               uint64
	ValidationFraction float64

	lambda float64
	scores map[float64]float64 // validation NDCG@10 by λ
	nb     *neighbours
}

// DefaultEASELambdas are the λ tried when none are given.
var DefaultEASELambdas = []float64{50, 150, 400, 1000, 2500}

// NewEASE returns EASE with the default λ grid and limits.
func NewEASE() *EASE { return &EASE{} }

// Lambda returns the λ the last Fit chose.
func (m *EASE) Lambda() float64 { return m.lambda }

// ValidationNDCG returns the validation NDCG@10 of each λ tried by the
// last Fit (nil when only one λ was given).
func (m *EASE) ValidationNDCG() map[float64]float64 { return m.scores }

// Name implements Model.
func (m *EASE) Name() string {
	switch {
	case m.lambda > 0:
		return fmt.Sprintf("EASE(λ=%g)", m.lambda)
	case len(m.Lambdas) == 1:
		return fmt.Sprintf("EASE(λ=%g)", m.Lambdas[0])
	}
	return "EASE"
}

func (m *EASE) maxItems() int {
	if m.MaxItems > 0 {
		return m.MaxItems
	}
	return DefaultEASEMaxItems
}

// Fit implements Model. It returns ErrTooManyItems when x has more than
// MaxItems items, and an error when G + λI is not positive definite
// (λ ≤ 0).
func (m *EASE) Fit(x *Matrix) error {
	n := x.NumItems()
	if n > m.maxItems() {
		return fmt.Errorf("EASE over %d items (max %d, %d GB dense): %w",
			n, m.maxItems(), 16*n*n>>30, ErrTooManyItems)
	}
	lambdas := m.Lambdas
	if len(lambdas) == 0 {
		lambdas = DefaultEASELambdas
	}
	for _, l := range lambdas {
		if !(l > 0) {
			return fmt.Errorf("EASE: λ %g must be positive", l)
		}
	}
	topK := m.TopK
	if topK <= 0 {
		topK = 200
	}
	s := &easeSolver{g: mat.NewSymDense(max(n, 1), nil)}
	m.scores = nil
	best := lambdas[0]
	if len(lambdas) > 1 {
		tr, val := validationSplit(x, m.Seed, m.ValidationFraction)
		m.scores = map[float64]float64{}
		bestScore := math.Inf(-1)
		for _, l := range lambdas {
			nb, err := s.solve(tr, l, topK)
			if err != nil {
				return err
			}
			m.nb = nb
			score := Evaluate(m, tr, val, 10).NDCG
			m.scores[l] = score
			if score > bestScore {
				best, bestScore = l, score
			}
		}
	}
	nb, err := s.solve(x, best, topK)
	if err != nil {
		return err
	}
	m.nb, m.lambda = nb, best
	return nil
}

// Score implements Model.
func (m *EASE) Score(h Vector, dst []float32) { m.nb.scatter(h, dst) }

// Similar implements Model: the items with the largest weights in item's
// row of B, the items a history of only item would score highest.
func (m *EASE) Similar(item, k int) []Scored { return m.nb.similar(item, k) }

// easeSolver holds the dense storage reused across λ.
type easeSolver struct {
	g    *mat.SymDense
	chol mat.Cholesky
}

// solve returns B for x and λ, pruned to topK per column, as rows.
func (s *easeSolver) solve(x *Matrix, lambda float64, topK int) (*neighbours, error) {
	n := x.NumItems()
	if n == 0 {
		return newNeighbours(nil), nil
	}
	raw := s.g.RawSymmetric()
	clear(raw.Data)
	cooccur(x, nil, nil, func(i int, acc []float64, touched []int32) {
		row := raw.Data[i*raw.Stride : i*raw.Stride+n]
		for _, j := range touched {
			if int(j) >= i { // the upper triangle is the one stored
				row[j] = acc[j]
			}
		}
		row[i] += lambda
	})
	if !s.chol.Factorize(s.g) {
		return nil, fmt.Errorf("EASE: Gram matrix + λ=%g is not positive definite", lambda)
	}
	if err := s.chol.InverseTo(s.g); err != nil { // P overwrites G
		return nil, fmt.Errorf("EASE: invert Gram matrix (λ=%g): %w", lambda, err)
	}
	p := s.g.RawSymmetric()
	at := func(i, j int) float64 {
		if i > j {
			i, j = j, i
		}
		return p.Data[i*p.Stride+j]
	}
	cols := make([][]Scored, n)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]Scored, 0, n)
			for j := w; j < n; j += workers {
				d := at(j, j)
				buf = buf[:0]
				for i := range n {
					if i != j {
						// keyed by |B(i,j)| for pruning; sign restored below
						buf = append(buf, Scored{i, float32(math.Abs(at(i, j) / d))})
					}
				}
				top := slices.Clone(topSlice(buf, topK))
				for k := range top {
					top[k].Score = float32(-at(top[k].Item, j) / d)
				}
				cols[j] = top
			}
		}()
	}
	wg.Wait()
	rows := make([][]Scored, n)
	for j, c := range cols {
		for _, e := range c {
			rows[e.Item] = append(rows[e.Item], Scored{j, e.Score})
		}
	}
	for _, r := range rows {
		slices.SortFunc(r, compareScored)
	}
	return newNeighbours(rows), nil
}
