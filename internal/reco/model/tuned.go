package model

import (
	"errors"
	"fmt"
	"math"
)

// Tuned is one model family with its settings chosen at each Fit: every
// candidate is fitted on a validation split of the training matrix, the
// best by NDCG@10 is refitted on all of it and serves. It costs one fit
// per candidate plus one; the candidates keep their validation fits'
// memory until the next Fit.
type Tuned struct {
	// Candidates are the settings to try, such as RP3beta with several β.
	Candidates []Model
	// Seed and ValidationFraction define the validation split; zero means
	// seed 1 and 0.2.
	Seed               uint64
	ValidationFraction float64

	best   Model
	scores []float64
}

// NewTunedRP3beta returns RP3β with α ∈ {0.8, 1}, β ∈ {0.2, 0.4, 0.6}
// and 200 neighbours, tuned at each Fit.
func NewTunedRP3beta() *Tuned {
	var c []Model
	for _, a := range []float64{0.8, 1} {
		for _, b := range []float64{0.2, 0.4, 0.6} {
			c = append(c, &RP3beta{Alpha: a, Beta: b, TopK: 200})
		}
	}
	return &Tuned{Candidates: c}
}

// NewTunedItemKNN returns ItemKNN with 25, 50, 100 or 200 neighbours
// and a shrink of 10, tuned at each Fit.
func NewTunedItemKNN() *Tuned {
	var c []Model
	for _, k := range []int{25, 50, 100, 200} {
		c = append(c, &ItemKNN{TopK: k, Shrink: 10})
	}
	return &Tuned{Candidates: c}
}

// Name implements Model: the chosen candidate's name once fitted.
func (t *Tuned) Name() string {
	if t.best != nil {
		return t.best.Name()
	}
	if len(t.Candidates) > 0 {
		return fmt.Sprintf("tuned %s (%d settings)", t.Candidates[0].Name(), len(t.Candidates))
	}
	return "tuned"
}

// Best returns the chosen candidate (nil before Fit).
func (t *Tuned) Best() Model { return t.best }

// ValidationNDCG returns each candidate's validation NDCG@10 of the last
// Fit, in order (zero for a candidate that failed).
func (t *Tuned) ValidationNDCG() []float64 { return t.scores }

// Fit implements Model. It returns ErrNoModel without candidates or when
// every candidate fails, and the refit's error.
func (t *Tuned) Fit(x *Matrix) error {
	tr, val := validationSplit(x, t.Seed, t.ValidationFraction)
	t.best, t.scores = nil, make([]float64, len(t.Candidates))
	bestScore := math.Inf(-1)
	var firstErr error
	for n, c := range t.Candidates {
		if err := c.Fit(tr); err != nil {
			firstErr = errors.Join(firstErr, err)
			continue
		}
		t.scores[n] = Evaluate(c, tr, val, 10).NDCG
		if t.scores[n] > bestScore {
			t.best, bestScore = c, t.scores[n]
		}
	}
	if t.best == nil {
		return errors.Join(ErrNoModel, firstErr)
	}
	return t.best.Fit(x)
}

// Score implements Model.
func (t *Tuned) Score(h Vector, dst []float32) { t.best.Score(h, dst) }

// Similar implements Model.
func (t *Tuned) Similar(item, k int) []Scored { return t.best.Similar(item, k) }
