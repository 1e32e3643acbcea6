package model

import (
	"math"
	"slices"
	"testing"
)

func TestUserMetrics(t *testing.T) {
	t.Parallel()
	l2 := func(r int) float64 { return 1 / math.Log2(float64(r)+1) } // gain at 1-based rank r
	set := func(items ...int) map[int]bool {
		m := map[int]bool{}
		for _, i := range items {
			m[i] = true
		}
		return m
	}
	tests := []struct {
		name               string
		ranked             []int
		relevant           map[int]bool
		k                  int
		p, r, rPlain, ndcg float64
	}{
		{"AllHitsFirst", []int{1, 2, 3, 4}, set(1, 2), 4, 0.5, 1, 1, 1},
		{"OneHitAtRank2", []int{5, 1, 6}, set(1), 3, 1.0 / 3, 1, 1, l2(2)},
		{"Miss", []int{5, 6}, set(1, 2), 2, 0, 0, 0, 0},
		// 3 relevant, k=2: recall normalised by min(k,|test|)=2, plain by 3.
		{"MoreRelevantThanK", []int{1, 9}, set(1, 2, 3), 2, 0.5, 0.5, 1.0 / 3, l2(1) / (l2(1) + l2(2))},
		{"HitsAtRanks1And3", []int{1, 8, 2, 9}, set(1, 2), 4, 0.5, 1, 1, (l2(1) + l2(3)) / (l2(1) + l2(2))},
		{"ShortList", []int{2}, set(1, 2), 10, 0.1, 0.5, 0.5, l2(1) / (l2(1) + l2(2))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := UserMetrics(tt.ranked, tt.relevant, tt.k)
			for _, c := range []struct {
				name      string
				got, want float64
			}{{"P", m.Precision, tt.p}, {"R", m.Recall, tt.r}, {"R plain", m.RecallPlain, tt.rPlain}, {"NDCG", m.NDCG, tt.ndcg}} {
				if math.Abs(c.got-c.want) > 1e-12 {
					t.Errorf("%s@%d = %.6f, want %.6f", c.name, tt.k, c.got, c.want)
				}
			}
		})
	}
}

// fixedModel scores items by a fixed vector, whatever the history.
type fixedModel []float32

func (f fixedModel) Name() string                  { return "fixed" }
func (f fixedModel) Fit(*Matrix) error             { return nil }
func (f fixedModel) Score(_ Vector, dst []float32) { copy(dst, f) }
func (f fixedModel) Similar(int, int) []Scored     { return nil }

func TestEvaluateByHand(t *testing.T) {
	t.Parallel()
	// Items 0..4 scored 5,4,3,2,1. User 0 trained on item 0 and tests on
	// items 2 and 4: its ranking (item 0 excluded) is 1,2,3 at k=3, one
	// hit at rank 2. User 1 disliked item 1 and tests on item 2: ranking
	// 0,2,3, a hit at rank 2. User 2 has no test item and is not counted.
	b := NewBuilder()
	for i := range 5 {
		b.Add(Event{User: 0, Item: int64(i)}) // fix the index order
	}
	b.Add(Event{User: 0, Item: 0, Weight: 1})
	b.Add(Event{User: 1, Item: 1, Weight: ThumbsDown})
	b.Add(Event{User: 2, Item: 3, Weight: 1})
	train := b.Build()
	tb := NewBuilderOn(train.Users, train.Items)
	tb.Add(Event{User: 0, Item: 2, Weight: 1})
	tb.Add(Event{User: 0, Item: 4, Weight: 1})
	tb.Add(Event{User: 1, Item: 2, Weight: 1})
	test := tb.Build()
	m := Evaluate(fixedModel{5, 4, 3, 2, 1}, train, test, 3)
	gain2 := 1 / math.Log2(3)
	want := Metrics{K: 3, Users: 2,
		Precision:   (1.0/3 + 1.0/3) / 2,
		Recall:      (1.0/2 + 1) / 2,
		RecallPlain: (1.0/2 + 1) / 2,
		NDCG:        (gain2/(1+gain2) + gain2) / 2,
	}
	if m.Users != want.Users || math.Abs(m.Precision-want.Precision) > 1e-9 || math.Abs(m.Recall-want.Recall) > 1e-9 ||
		math.Abs(m.RecallPlain-want.RecallPlain) > 1e-9 || math.Abs(m.NDCG-want.NDCG) > 1e-9 {
		t.Errorf("Evaluate = %+v, want %+v", m, want)
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	x := planted(t, 1)
	tr1, te1 := Split(x, 7, 0.25)
	tr2, te2 := Split(x, 7, 0.25)
	_, te3 := Split(x, 8, 0.25)
	if want := int(math.Round(0.25 * float64(x.NNZ()))); te1.NNZ() != want || tr1.NNZ() != x.NNZ()-want {
		t.Fatalf("split %d/%d of %d, want %d in test", tr1.NNZ(), te1.NNZ(), x.NNZ(), want)
	}
	same, differs := true, false
	for u := range x.NumUsers() {
		if !slices.Equal(te1.Row(u).Items, te2.Row(u).Items) || !slices.Equal(tr1.Row(u).Items, tr2.Row(u).Items) {
			same = false
		}
		if !slices.Equal(te1.Row(u).Items, te3.Row(u).Items) {
			differs = true
		}
		// train and test partition the user's row
		all := slices.Concat(tr1.Row(u).Items, te1.Row(u).Items)
		slices.Sort(all)
		if !slices.Equal(all, x.Row(u).Items) {
			t.Fatalf("user %d: train ∪ test = %v, want %v", u, all, x.Row(u).Items)
		}
	}
	if !same {
		t.Error("the same seed gave different splits")
	}
	if !differs {
		t.Error("seeds 7 and 8 gave the same split")
	}
	if tr1.Users != x.Users || te1.Items != x.Items {
		t.Error("the split does not share the matrix's indices")
	}
}
