package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"
)

// validationSplit is the Split a model is tuned on: seed 0 means 1 and a
// fraction of zero or less means 0.2.
func validationSplit(x *Matrix, seed uint64, fraction float64) (train, validation *Matrix) {
	if seed == 0 {
		seed = 1
	}
	if fraction <= 0 {
		fraction = 0.2
	}
	return Split(x, seed, fraction)
}

// Split divides x's entries at random into a training and a test matrix
// over the same indices: each entry goes to test with the same chance, and
// exactly round(fraction·NNZ) of them do. The same seed gives the same
// split. Disliked pairs stay with train (they are filters, not ratings).
// fraction is clamped to [0, 1].
func Split(x *Matrix, seed uint64, fraction float64) (train, test *Matrix) {
	nnz := x.NNZ()
	fraction = min(max(fraction, 0), 1)
	nTest := int(math.Round(fraction * float64(nnz)))
	perm := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)).Perm(nnz)
	inTest := make([]bool, nnz)
	for _, p := range perm[:nTest] {
		inTest[p] = true
	}
	var tr, te []triple
	for u := range x.NumUsers() {
		for p := x.rowPtr[u]; p < x.rowPtr[u+1]; p++ {
			t := triple{int32(u), x.cols[p], x.vals[p], x.times[p]}
			if inTest[p] {
				te = append(te, t)
			} else {
				tr = append(tr, t)
			}
		}
	}
	train, test = fromSorted(x.Users, x.Items, tr), fromSorted(x.Users, x.Items, te)
	train.disliked = x.disliked
	return train, test
}

// Metrics are top-K accuracy figures averaged over the users with at
// least one test item, ranking every item not in the user's training row.
type Metrics struct {
	K int
	// Precision is hits/K.
	Precision float64
	// Recall is hits/min(K, |test|): 1 when the top K is as full of test
	// items as it can be (the normalisation of Liang et al. 2018, used by
	// the VAE and EASE papers).
	Recall float64
	// RecallPlain is hits/|test|.
	RecallPlain float64
	// NDCG is DCG/IDCG with binary relevance, gain 1/log2(rank+1), the
	// ideal ranking putting min(K, |test|) hits first.
	NDCG float64
	// Users is how many users were evaluated.
	Users int
}

// UserMetrics returns the metrics of one ranked list against a set of
// relevant items (Users is 1, or 0 when relevant is empty).
func UserMetrics(ranked []int, relevant map[int]bool, k int) Metrics {
	m := Metrics{K: k}
	if len(relevant) == 0 || k <= 0 {
		return m
	}
	var hits int
	var dcg, idcg float64
	for r, i := range ranked[:min(k, len(ranked))] {
		if relevant[i] {
			hits++
			dcg += 1 / math.Log2(float64(r)+2)
		}
	}
	for r := range min(k, len(relevant)) {
		idcg += 1 / math.Log2(float64(r)+2)
	}
	m.Precision = float64(hits) / float64(k)
	m.Recall = float64(hits) / float64(min(k, len(relevant)))
	m.RecallPlain = float64(hits) / float64(len(relevant))
	m.NDCG = dcg / idcg
	m.Users = 1
	return m
}

// Evaluate returns model's metrics at k (fitted on train) against test,
// ranking for each user every item except those of its training row and
// its disliked items. Users without a test item are not counted.
func Evaluate(model Model, train, test *Matrix, k int) Metrics {
	nu, ni := test.NumUsers(), test.NumItems()
	workers := runtime.GOMAXPROCS(0)
	parts := make([]Metrics, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := make([]float32, ni)
			rel := map[int]bool{}
			ranked := make([]int, 0, k)
			for u := w; u < nu; u += workers {
				t := test.Row(u)
				if t.Len() == 0 {
					continue
				}
				clear(rel)
				for _, i := range t.Items {
					rel[int(i)] = true
				}
				var h Vector
				var dis []int32
				if u < train.NumUsers() {
					h, dis = train.Row(u), train.Disliked(u)
				}
				rec := recommendInto(model, dst, h, k, func(i int) bool { return contains(dis, i) })
				ranked = ranked[:0]
				for _, s := range rec {
					ranked = append(ranked, s.Item)
				}
				parts[w].add(UserMetrics(ranked, rel, k))
			}
		}()
	}
	wg.Wait()
	var m Metrics
	for _, p := range parts {
		m.add(p)
	}
	m.K = k
	if m.Users > 0 {
		n := float64(m.Users)
		m.Precision /= n
		m.Recall /= n
		m.RecallPlain /= n
		m.NDCG /= n
	}
	return m
}

func (m *Metrics) add(o Metrics) {
	m.Precision += o.Precision
	m.Recall += o.Recall
	m.RecallPlain += o.RecallPlain
	m.NDCG += o.NDCG
	m.Users += o.Users
}

func contains(sorted []int32, i int) bool {
	lo, hi := 0, len(sorted)
	for lo < hi {
		mid := (lo + hi) / 2
		switch {
		case int(sorted[mid]) == i:
			return true
		case int(sorted[mid]) < i:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return false
}

// Result is one model's offline evaluation.
type Result struct {
	Model string
	Metrics
	// FitTime is the wall time of Fit.
	FitTime time.Duration
	// PeakHeap is the highest heap in use seen during Fit (HeapAlloc:
	// live objects and garbage not yet collected) above the heap after a
	// GC just before it, sampled every 5 ms with runtime.ReadMemStats, so
	// a spike shorter than that may be missed.
	PeakHeap uint64
	// Allocated is the total allocated during Fit.
	Allocated uint64
	// Err is why the model could not be fitted (ErrTooManyItems for a
	// refused dense model); the metrics are then zero.
	Err error
}

// Measure fits model on x and returns the fit time and memory; Err holds
// Fit's error.
func Measure(model Model, x *Matrix) Result {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, total := ms.HeapAlloc, ms.TotalAlloc
	peak := base
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var s runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&s)
				peak = max(peak, s.HeapAlloc)
			}
		}
	}()
	start := time.Now()
	err := model.Fit(x)
	r := Result{FitTime: time.Since(start), Err: err}
	close(stop)
	<-done
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapAlloc)
	r.Model = model.Name()
	r.PeakHeap = peak - base
	r.Allocated = ms.TotalAlloc - total
	return r
}

// Run fits model on train, measuring it, and evaluates it at k against test.
func Run(model Model, train, test *Matrix, k int) Result {
	r := Measure(model, train)
	if r.Err == nil {
		r.Metrics = Evaluate(model, train, test, k)
	}
	return r
}

// Selection is the outcome of Select.
type Selection struct {
	// Best is the winning model, refitted on the whole matrix.
	Best Model
	// BestResult is its validation result.
	BestResult Result
	// Results are every candidate's validation results, in input order.
	Results []Result
}

// SelectOptions configure Select; zero values mean seed 1, a validation
// fraction of 0.2 and K = 10.
type SelectOptions struct {
	Seed               uint64
	ValidationFraction float64
	K                  int
}

// ErrNoModel is returned by Select when no candidate could be fitted.
var ErrNoModel = errors.New("no candidate model could be fitted")

// Select picks, among candidates, the one with the best NDCG@K on a
// validation split of x, refits it on all of x and returns it with every
// candidate's validation metrics: the model that fills "Top picks" at a
// retrain. A candidate whose Fit fails (a dense model refusing a large
// catalog) is recorded with its error and skipped. It returns ErrNoModel
// when none can be fitted, or the refit's error.
func Select(x *Matrix, candidates []Model, opts SelectOptions) (Selection, error) {
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.ValidationFraction <= 0 {
		opts.ValidationFraction = 0.2
	}
	if opts.K <= 0 {
		opts.K = 10
	}
	tr, val := Split(x, opts.Seed, opts.ValidationFraction)
	var sel Selection
	best := -1
	for n, m := range candidates {
		r := Run(m, tr, val, opts.K)
		sel.Results = append(sel.Results, r)
		if r.Err == nil && (best < 0 || r.NDCG > sel.Results[best].NDCG) {
			best = n
		}
	}
	if best < 0 {
		return sel, ErrNoModel
	}
	sel.Best, sel.BestResult = candidates[best], sel.Results[best]
	if err := sel.Best.Fit(x); err != nil {
		return sel, fmt.Errorf("refit %s on all data: %w", sel.Best.Name(), err)
	}
	return sel, nil
}
