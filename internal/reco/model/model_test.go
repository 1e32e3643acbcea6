package model

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
)

// planted returns a small interaction matrix with planted structure: 400
// users drawn from taste clusters over 12 item clusters, with Zipf
// popularity skew.
func planted(t testing.TB, seed uint64) *Matrix {
	t.Helper()
	events, _ := Synthetic(SyntheticConfig{Users: 400, Items: 240, Interactions: 12000, Clusters: 12, MinPerUser: 12, Seed: seed})
	return build(events)
}

func build(events []Event) *Matrix {
	b := NewBuilder()
	for _, e := range events {
		b.Add(e)
	}
	return b.Build()
}

// learned returns fresh instances of every learned model.
func learned() []Model {
	return []Model{NewItemKNN(50), NewRP3beta(), &EASE{Lambdas: []float64{20, 60, 200}}}
}

func TestLearnedModelsBeatMostPop(t *testing.T) {
	t.Parallel()
	x := planted(t, 3)
	train, test := Split(x, 42, 0.2)
	pop := Run(NewMostPop(), train, test, 10)
	if pop.Err != nil || pop.Users == 0 {
		t.Fatalf("MostPop: %+v", pop)
	}
	for _, m := range learned() {
		t.Run(strings.SplitN(m.Name(), "(", 2)[0], func(t *testing.T) {
			r := Run(m, train, test, 10)
			if r.Err != nil {
				t.Fatalf("fit: %v", r.Err)
			}
			t.Logf("%s NDCG@10 %.4f P@10 %.4f vs MostPop %.4f %.4f", r.Model, r.NDCG, r.Precision, pop.NDCG, pop.Precision)
			if r.NDCG < pop.NDCG*1.2 {
				t.Errorf("%s NDCG@10 = %.4f, not clearly above MostPop's %.4f", r.Model, r.NDCG, pop.NDCG)
			}
			if r.Precision <= pop.Precision {
				t.Errorf("%s P@10 = %.4f, not above MostPop's %.4f", r.Model, r.Precision, pop.Precision)
			}
		})
	}
}

func TestRecommendFilters(t *testing.T) {
	t.Parallel()
	x := planted(t, 5)
	excluded := map[int]bool{}
	for i := 0; i < x.NumItems(); i += 7 {
		excluded[i] = true
	}
	models := []Model{NewItemKNN(50), NewRP3beta(), &EASE{Lambdas: []float64{60}}, NewMostPop(), NewPopularity(7*24*time.Hour, nil)}
	for _, m := range models {
		if err := m.Fit(x); err != nil {
			t.Fatalf("%s: %v", m.Name(), err)
		}
		for u := 0; u < x.NumUsers(); u += 13 {
			h := x.Row(u)
			rec := Recommend(m, x.NumItems(), h, 20, func(i int) bool { return excluded[i] })
			if len(rec) != 20 {
				t.Fatalf("%s user %d: %d recommendations, want 20", m.Name(), u, len(rec))
			}
			for n, s := range rec {
				if h.Has(s.Item) {
					t.Errorf("%s user %d: recommends item %d it has already seen", m.Name(), u, s.Item)
				}
				if excluded[s.Item] {
					t.Errorf("%s user %d: recommends excluded item %d", m.Name(), u, s.Item)
				}
				if n > 0 && s.Score > rec[n-1].Score {
					t.Errorf("%s user %d: not sorted at %d", m.Name(), u, n)
				}
			}
		}
		for i := 0; i < x.NumItems(); i += 11 {
			for _, s := range m.Similar(i, 10) {
				if s.Item == i {
					t.Errorf("%s: item %d is similar to itself", m.Name(), i)
				}
			}
		}
	}
}

func TestEvaluateLeavesOutDisliked(t *testing.T) {
	t.Parallel()
	// The most popular item is disliked by user 0; MostPop must not rank it.
	b := NewBuilder()
	for u := 1; u <= 5; u++ {
		b.Add(Event{User: int64(u), Item: 1, Weight: 1})
	}
	b.Add(Event{User: 0, Item: 1, Weight: ThumbsDown})
	b.Add(Event{User: 0, Item: 2, Weight: 1})
	b.Add(Event{User: 1, Item: 3, Weight: 1})
	x := b.Build()
	m := NewMostPop()
	if err := m.Fit(x); err != nil {
		t.Fatal(err)
	}
	u0, _ := x.Users.Of(0)
	dis := x.Disliked(u0)
	rec := Recommend(m, x.NumItems(), x.Row(u0), 3, func(i int) bool { return contains(dis, i) })
	for _, s := range rec {
		if x.Items.ID(s.Item) == 1 {
			t.Errorf("user 0 is recommended item 1 it gave a thumbs-down: %v", rec)
		}
	}
}

func TestEASEMatchesClosedForm(t *testing.T) {
	t.Parallel()
	x := planted(t, 9)
	n := x.NumItems()
	const lambda = 30.0
	m := &EASE{Lambdas: []float64{lambda}, TopK: n}
	if err := m.Fit(x); err != nil {
		t.Fatal(err)
	}
	// Reference: dense X, G = XᵀX + λI, P = G⁻¹ by LU, B = I − P·diag(1/diag P).
	dx := mat.NewDense(x.NumUsers(), n, nil)
	for u := range x.NumUsers() {
		r := x.Row(u)
		for k, i := range r.Items {
			dx.Set(u, int(i), float64(r.Weights[k]))
		}
	}
	var g, p mat.Dense
	g.Mul(dx.T(), dx)
	for i := range n {
		g.Set(i, i, g.At(i, i)+lambda)
	}
	if err := p.Inverse(&g); err != nil {
		t.Fatal(err)
	}
	h := x.Row(0)
	got := make([]float32, n)
	m.Score(h, got)
	for j := range n {
		var want float64
		for k, i := range h.Items {
			if int(i) != j {
				want += float64(h.Weights[k]) * -p.At(int(i), j) / p.At(j, j)
			}
		}
		if math.Abs(float64(got[j])-want) > 1e-4*(1+math.Abs(want)) {
			t.Fatalf("score of item %d = %g, closed form %g", j, got[j], want)
		}
	}
}

func TestEASEChoosesLambdaOnValidation(t *testing.T) {
	t.Parallel()
	events, _ := Synthetic(SyntheticConfig{Users: 200, Items: 100, Interactions: 5000, Clusters: 8, Seed: 11})
	x := build(events)
	m := &EASE{Lambdas: []float64{1, 100, 100000}}
	if err := m.Fit(x); err != nil {
		t.Fatal(err)
	}
	s := m.ValidationNDCG()
	if len(s) != 3 {
		t.Fatalf("validation scores %v, want one per λ", s)
	}
	for l, v := range s {
		if v > s[m.Lambda()] {
			t.Errorf("chose λ=%g (NDCG %.4f) over λ=%g (NDCG %.4f)", m.Lambda(), s[m.Lambda()], l, v)
		}
	}
	if m.Lambda() == 100000 {
		t.Errorf("chose λ=%g, which flattens B to nothing", m.Lambda())
	}
	if !strings.Contains(m.Name(), "λ=") {
		t.Errorf("Name %q does not say λ", m.Name())
	}
}

func TestEASERefusesLargeCatalog(t *testing.T) {
	t.Parallel()
	t.Run("Default", func(t *testing.T) {
		t.Parallel()
		b := NewBuilder()
		for i := range DefaultEASEMaxItems + 1 {
			b.Add(Event{User: 1, Item: int64(i), Weight: 1})
		}
		err := NewEASE().Fit(b.Build())
		if !errors.Is(err, ErrTooManyItems) {
			t.Fatalf("Fit over %d items: %v, want ErrTooManyItems", DefaultEASEMaxItems+1, err)
		}
	})
	t.Run("SelectFallsBackToSparse", func(t *testing.T) {
		t.Parallel()
		x := planted(t, 13)
		ease := &EASE{MaxItems: x.NumItems() - 1}
		sel, err := Select(x, []Model{NewMostPop(), ease, NewRP3beta()}, SelectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(sel.Results[1].Err, ErrTooManyItems) {
			t.Errorf("EASE result error = %v, want ErrTooManyItems", sel.Results[1].Err)
		}
		if _, ok := sel.Best.(*RP3beta); !ok {
			t.Errorf("selected %s, want the sparse RP3beta", sel.Best.Name())
		}
	})
}

func TestSelect(t *testing.T) {
	t.Parallel()
	x := planted(t, 17)
	cands := []Model{NewMostPop(), NewItemKNN(50), NewRP3beta()}
	sel, err := Select(x, cands, SelectOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(sel.Results) != 3 {
		t.Fatalf("%d results, want 3", len(sel.Results))
	}
	for _, r := range sel.Results {
		if r.NDCG > sel.BestResult.NDCG {
			t.Errorf("%s has validation NDCG %.4f above the selected %s's %.4f", r.Model, r.NDCG, sel.Best.Name(), sel.BestResult.NDCG)
		}
	}
	if sel.Best == cands[0] {
		t.Error("selected MostPop on data with planted taste clusters")
	}
	// Refitted on all of x: it knows every user's full history.
	rec := Recommend(sel.Best, x.NumItems(), x.Row(0), 10, nil)
	if len(rec) != 10 {
		t.Errorf("%d recommendations from the selected model", len(rec))
	}
	if _, err := Select(x, []Model{&EASE{MaxItems: 1}}, SelectOptions{}); !errors.Is(err, ErrNoModel) {
		t.Errorf("Select with only a refusing model: %v, want ErrNoModel", err)
	}
}

func TestPopularity(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var events []Event
	add := func(item int64, users int, age time.Duration) {
		for u := range users {
			events = append(events, Event{User: int64(u) + item*100, Item: item, Weight: 1, Time: now.Add(-age)})
		}
	}
	add(1, 10, 365*24*time.Hour) // old hit
	add(2, 6, 0)                 // new and fairly popular
	add(3, 3, 0)
	add(4, 2, 0)
	x := build(events)
	idx := func(id int64) int { i, _ := x.Items.Of(id); return i }
	ids := func(s []Scored) []int64 {
		var out []int64
		for _, e := range s {
			out = append(out, x.Items.ID(e.Item))
		}
		return out
	}
	mp := NewMostPop()
	if err := mp.Fit(x); err != nil {
		t.Fatal(err)
	}
	if got := ids(Recommend(mp, x.NumItems(), Vector{}, 2, nil)); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("MostPop top 2 = %v, want [1 2]", got)
	}
	genres := map[int64][]string{1: {"drama"}, 2: {"comedy"}, 3: {"drama", "comedy"}, 4: {"drama"}}
	pd := NewPopularity(30*24*time.Hour, genres)
	if err := pd.Fit(x); err != nil {
		t.Fatal(err)
	}
	if got := ids(Recommend(pd, x.NumItems(), Vector{}, 3, nil)); !slices.Equal(got, []int64{2, 3, 4}) {
		t.Errorf("decayed top 3 = %v, want [2 3 4]: the year-old hit decays below new titles", got)
	}
	if got := ids(pd.TopInGenre("drama", 5, nil)); !slices.Equal(got, []int64{3, 4, 1}) {
		t.Errorf("drama = %v, want [3 4 1]", got)
	}
	if got := ids(pd.TopInGenre("drama", 5, func(i int) bool { return i == idx(3) })); !slices.Equal(got, []int64{4, 1}) {
		t.Errorf("drama without 3 = %v, want [4 1]", got)
	}
	if got := ids(pd.Similar(idx(2), 5)); !slices.Equal(got, []int64{3}) {
		t.Errorf("similar to the comedy 2 = %v, want [3]", got)
	}
	h := Vector{Items: []int32{int32(idx(2)), int32(idx(3))}, Weights: []float32{1, 1}}
	slices.SortFunc(h.Items, func(a, b int32) int { return int(a - b) })
	if got := pd.GenreTaste(h); !slices.Equal(got, []string{"comedy", "drama"}) {
		t.Errorf("GenreTaste = %v, want [comedy drama]", got)
	}
}

func TestRP3betaMatchesDefinition(t *testing.T) {
	t.Parallel()
	x := planted(t, 19)
	n := x.NumItems()
	m := &RP3beta{Alpha: 0.8, Beta: 0.3, TopK: n}
	if err := m.Fit(x); err != nil {
		t.Fatal(err)
	}
	i := 0
	for x.Col(i).Len() == 0 {
		i++
	}
	// W(i,j) = Σ_u (x_ui/Σ_v x_vi)^α (x_uj/Σ_l x_ul)^α / deg(j)^β
	want := make([]float64, n)
	colSum := 0.0
	for _, w := range x.Col(i).Weights {
		colSum += float64(w)
	}
	for k, u := range x.Col(i).Items {
		r := x.Row(int(u))
		var rowSum float64
		for _, w := range r.Weights {
			rowSum += float64(w)
		}
		for p, j := range r.Items {
			want[j] += math.Pow(float64(x.Col(i).Weights[k])/colSum, 0.8) * math.Pow(float64(r.Weights[p])/rowSum, 0.8)
		}
	}
	got := make([]float32, n)
	m.Score(Vector{Items: []int32{int32(i)}, Weights: []float32{1}}, got)
	for j := range n {
		w := 0.0
		if j != i && want[j] != 0 {
			w = want[j] / math.Pow(float64(x.Col(j).Len()), 0.3)
		}
		if math.Abs(float64(got[j])-w) > 1e-5*(1+w) {
			t.Fatalf("W(%d,%d) = %g, want %g", i, j, got[j], w)
		}
	}
}

func TestItemKNNIsCosine(t *testing.T) {
	t.Parallel()
	// Items a and b share 2 of their users, c none with a.
	b := NewBuilder()
	for _, e := range [][2]int64{{1, 10}, {2, 10}, {3, 10}, {1, 20}, {2, 20}, {4, 30}} {
		b.Add(Event{User: e[0], Item: e[1], Weight: 1})
	}
	x := b.Build()
	m := &ItemKNN{TopK: 5, Shrink: 1e-9}
	if err := m.Fit(x); err != nil {
		t.Fatal(err)
	}
	a, _ := x.Items.Of(10)
	bb, _ := x.Items.Of(20)
	sim := m.Similar(a, 5)
	want := 2 / (math.Sqrt(3) * math.Sqrt(2))
	if len(sim) != 1 || sim[0].Item != bb || math.Abs(float64(sim[0].Score)-want) > 1e-6 {
		t.Errorf("Similar(10) = %v, want only item 20 at %.6f", sim, want)
	}
}

func TestTuned(t *testing.T) {
	t.Parallel()
	x := planted(t, 23)
	m := &Tuned{Candidates: []Model{
		&RP3beta{Alpha: 1, Beta: 0.4, TopK: 100},
		&RP3beta{Alpha: 1, Beta: 0.4, TopK: 1}, // one neighbour per item: clearly worse
	}}
	if err := m.Fit(x); err != nil {
		t.Fatal(err)
	}
	s := m.ValidationNDCG()
	if m.Best() != m.Candidates[0] || s[0] <= s[1] {
		t.Errorf("chose %s with validation NDCG %v, want the 100-neighbour RP3beta", m.Name(), s)
	}
	if m.Name() != m.Candidates[0].Name() {
		t.Errorf("Name = %q, want the chosen candidate's", m.Name())
	}
	// Refitted on all of x: a user's every item is in the model's reach.
	if rec := Recommend(m, x.NumItems(), x.Row(1), 5, nil); len(rec) != 5 {
		t.Errorf("%d recommendations", len(rec))
	}
	if err := (&Tuned{Candidates: []Model{&EASE{MaxItems: 1}}}).Fit(x); !errors.Is(err, ErrNoModel) || !errors.Is(err, ErrTooManyItems) {
		t.Errorf("Fit with only a refusing candidate: %v, want ErrNoModel and ErrTooManyItems", err)
	}
}

func TestStoredScoresAsFitted(t *testing.T) {
	t.Parallel()
	evs, _ := Synthetic(SyntheticConfig{Users: 200, Items: 120, Interactions: 6000, Seed: 7})
	b := NewBuilder()
	for _, e := range evs {
		b.Add(e)
	}
	x := b.Build()
	for _, m := range []Model{NewItemKNN(50), NewRP3beta(), &EASE{Lambdas: []float64{200}}} {
		if err := m.Fit(x); err != nil {
			t.Fatal(err)
		}
		ii, ok := AsItemItem(m)
		if !ok {
			t.Fatalf("%s is not item-item", m.Name())
		}
		rows := make([][]Scored, x.NumItems())
		for i := range rows {
			rows[i] = ii.Weights(i)
		}
		s := NewStored(m.Name(), rows)
		for u := range 20 {
			want := Recommend(m, x.NumItems(), x.Row(u), 10, nil)
			got := Recommend(s, x.NumItems(), x.Row(u), 10, nil)
			if len(got) != len(want) {
				t.Fatalf("%s user %d: %d items stored, %d fitted", m.Name(), u, len(got), len(want))
			}
			for k := range want {
				if got[k].Item != want[k].Item {
					t.Fatalf("%s user %d rank %d: stored %d, fitted %d", m.Name(), u, k, got[k].Item, want[k].Item)
				}
			}
		}
	}
	if _, ok := AsItemItem(NewMostPop()); ok {
		t.Fatal("MostPop claims to be item-item")
	}
}
