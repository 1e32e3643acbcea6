package model

import (
	"container/heap"
	"errors"
	"runtime"
	"slices"
	"sync"
)

// Model is a recommender fitted on an interaction matrix. After Fit, Score
// and Similar are safe for concurrent use; Fit must not run concurrently
// with anything else on the same model. A Model is fitted again from
// scratch by another call to Fit.
type Model interface {
	// Name names the model and its settings, such as "EASE(λ=250)".
	Name() string
	// Fit learns from x. It returns ErrTooManyItems when the model
	// refuses a catalog of x's size.
	Fit(x *Matrix) error
	// Score writes into dst (of length NumItems of the fitted matrix) a
	// score for every item given a history; higher is better. Items
	// outside the fitted matrix in h are ignored.
	Score(h Vector, dst []float32)
	// Similar returns up to k items most like item, best first, never
	// item itself.
	Similar(item, k int) []Scored
}

// ErrTooManyItems is returned by Fit when a dense model refuses a catalog
// larger than its maximum; a sparse model (RP3β, ItemKNN) should be used.
var ErrTooManyItems = errors.New("too many items for a dense model")

// Scored is an item index with its score.
type Scored struct {
	Item  int
	Score float32
}

// Recommend returns the top n items for history h by model m, best first,
// leaving out every item of h and every item for which exclude (may be
// nil) returns true. Ties go to the lower item index, so results are
// deterministic. numItems is the number of items m was fitted on.
func Recommend(m Model, numItems int, h Vector, n int, exclude func(item int) bool) []Scored {
	return recommendInto(m, make([]float32, numItems), h, n, exclude)
}

// recommendInto is Recommend scoring into dst.
func recommendInto(m Model, dst []float32, h Vector, n int, exclude func(item int) bool) []Scored {
	m.Score(h, dst)
	return topN(dst, n, func(i int) bool {
		return h.Has(i) || (exclude != nil && exclude(i))
	})
}

// topN returns the n highest scores of s not skipped, best first.
func topN(s []float32, n int, skip func(int) bool) []Scored {
	if n <= 0 {
		return nil
	}
	h := make(minHeap, 0, n)
	for i, v := range s {
		if len(h) == n && !better(Scored{i, v}, h[0]) {
			continue
		}
		if skip != nil && skip(i) {
			continue
		}
		if len(h) < n {
			heap.Push(&h, Scored{i, v})
		} else {
			h[0] = Scored{i, v}
			heap.Fix(&h, 0)
		}
	}
	out := []Scored(h)
	slices.SortFunc(out, compareScored)
	return out
}

// better orders by score, then by lower index.
func better(a, b Scored) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.Item < b.Item
}

// compareScored is better as a slices.SortFunc comparison: best first.
func compareScored(a, b Scored) int {
	switch {
	case better(a, b):
		return -1
	case better(b, a):
		return 1
	}
	return 0
}

type minHeap []Scored

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(Scored)) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// neighbours is a sparse item × item matrix kept as one short list per
// row, sorted by score: row i holds the items i points to. Memory: 8 bytes
// per kept entry.
type neighbours struct {
	ptr   []int
	items []int32
	w     []float32
}

// build fills n from per-row lists (already pruned).
func newNeighbours(rows [][]Scored) *neighbours {
	nb := &neighbours{ptr: make([]int, len(rows)+1)}
	for i, r := range rows {
		nb.ptr[i+1] = nb.ptr[i] + len(r)
	}
	nb.items = make([]int32, nb.ptr[len(rows)])
	nb.w = make([]float32, nb.ptr[len(rows)])
	for i, r := range rows {
		for k, s := range r {
			nb.items[nb.ptr[i]+k] = int32(s.Item)
			nb.w[nb.ptr[i]+k] = s.Score
		}
	}
	return nb
}

// scatter adds h·N into dst (dst cleared first).
func (nb *neighbours) scatter(h Vector, dst []float32) {
	clear(dst)
	for k, i := range h.Items {
		if int(i) >= len(nb.ptr)-1 {
			continue
		}
		w := h.Weights[k]
		for p := nb.ptr[i]; p < nb.ptr[i+1]; p++ {
			dst[nb.items[p]] += w * nb.w[p]
		}
	}
}

// similar returns the first k positive entries of row i other than i.
func (nb *neighbours) similar(i, k int) []Scored {
	if i < 0 || i >= len(nb.ptr)-1 {
		return nil
	}
	var out []Scored
	for p := nb.ptr[i]; p < nb.ptr[i+1] && len(out) < k; p++ {
		if int(nb.items[p]) != i && nb.w[p] > 0 {
			out = append(out, Scored{int(nb.items[p]), nb.w[p]})
		}
	}
	return out
}

// cooccur computes, for every item i, the weighted co-occurrence row
// acc[j] = Σ_u a(u,i)·b(u,j) over the users u of item i, and calls visit
// with it; touched lists the j with a contribution (acc is zero
// elsewhere, and acc may include i itself). a and b default to the matrix
// weights. The rows are computed by GOMAXPROCS workers: visit runs
// concurrently for different items and must only write state of its own
// item. Cost: Σ_u |row u|² multiply-adds; memory: one float64 per item per
// worker.
func cooccur(x *Matrix, a, b func(u, i int, w float32) float64, visit func(i int, acc []float64, touched []int32)) {
	ni := x.NumItems()
	if a == nil {
		a = func(_, _ int, w float32) float64 { return float64(w) }
	}
	if b == nil {
		b = a
	}
	// b is evaluated once per entry, not once per pair.
	bv := make([]float64, x.NNZ())
	for u := range x.NumUsers() {
		for p := x.rowPtr[u]; p < x.rowPtr[u+1]; p++ {
			bv[p] = b(u, int(x.cols[p]), x.vals[p])
		}
	}
	workers := min(runtime.GOMAXPROCS(0), max(ni, 1))
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acc := make([]float64, ni)
			seen := make([]bool, ni)
			var touched []int32
			for {
				mu.Lock()
				start := next
				next += 16
				mu.Unlock()
				if start >= ni {
					return
				}
				for i := start; i < min(start+16, ni); i++ {
					touched = touched[:0]
					col := x.Col(i)
					for k, u := range col.Items {
						wa := a(int(u), i, col.Weights[k])
						for p := x.rowPtr[u]; p < x.rowPtr[u+1]; p++ {
							j := x.cols[p]
							if !seen[j] {
								seen[j] = true
								touched = append(touched, j)
							}
							acc[j] += wa * bv[p]
						}
					}
					visit(i, acc, touched)
					for _, j := range touched {
						acc[j], seen[j] = 0, false
					}
				}
			}
		}()
	}
	wg.Wait()
}

// pruneRow returns the k entries of touched with the highest key (value
// by default), excluding self, as Scored with the value, sorted by value
// descending.
func pruneRow(self int, acc []float64, touched []int32, k int, key func(v float64) float64) []Scored {
	if key == nil {
		key = func(v float64) float64 { return v }
	}
	tmp := make([]Scored, 0, len(touched))
	for _, j := range touched {
		if int(j) == self || acc[j] == 0 {
			continue
		}
		tmp = append(tmp, Scored{int(j), float32(key(acc[j]))})
	}
	top := topSlice(tmp, k)
	for n := range top {
		top[n].Score = float32(acc[top[n].Item])
	}
	slices.SortFunc(top, compareScored)
	return top
}

// topSlice keeps the k best of s (by Score), in any order.
func topSlice(s []Scored, k int) []Scored {
	if len(s) <= k {
		return s
	}
	h := minHeap(slices.Clone(s[:k]))
	heap.Init(&h)
	for _, v := range s[k:] {
		if better(v, h[0]) {
			h[0] = v
			heap.Fix(&h, 0)
		}
	}
	return []Scored(h)
}
