package reco

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/pgtest"
	"github.com/streamflix/streamflix/internal/reco/model"
)

// testCatalog is the catalog's side of the contract in memory: reco's
// tests cannot import content.
type testCatalog struct {
	items    []Item
	maturity map[string]int
}

func (c *testCatalog) Items(context.Context) ([]Item, error) { return slices.Clone(c.items), nil }

func (c *testCatalog) Cards(_ context.Context, maturity int, ids []string) ([]Title, error) {
	var out []Title
	for _, it := range c.items {
		if slices.Contains(ids, it.ID) && c.maturity[it.ID] <= maturity {
			out = append(out, Title{ID: it.ID, Kind: it.Kind, Name: it.Name, Genres: it.Genres, MaturityLevel: c.maturity[it.ID]})
		}
	}
	return out, nil
}

type testProfiles struct{}

func (testProfiles) ProfileName(context.Context, string, string) (string, error) { return "Ada", nil }

// countingQueue counts the jobs reco inserts (the integration tests in
// cmd/streamflix run them through River).
type countingQueue struct{ n map[string]int }

func (q *countingQueue) InsertTx(_ context.Context, _ *sql.Tx, args river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	q.n[args.Kind()]++
	return &rivertype.JobInsertResult{Job: &rivertype.JobRow{ID: int64(q.n[args.Kind()])}}, nil
}

type testBundle struct {
	s     *Service
	cat   *testCatalog
	queue *countingQueue
	// clusters[i] is title i's taste cluster.
	clusters []int
}

// setup builds the service over a fresh database and a catalog of n
// titles in two genres (cluster 0 "a", 1 "b").
func setup(t *testing.T, n int) *testBundle {
	t.Helper()
	db := pgtest.NewDB(t)
	b := &testBundle{cat: &testCatalog{maturity: map[string]int{}}, queue: &countingQueue{n: map[string]int{}}}
	for i := range n {
		g := Genre{ID: uuid.NewString(), Slug: "a", Name: "A"}
		if i%2 == 1 {
			g = Genre{ID: uuid.NewString(), Slug: "b", Name: "B"}
		}
		id := uuid.NewString()
		b.cat.items = append(b.cat.items, Item{ID: id, Kind: "movie", Name: fmt.Sprintf("T%d", i), Genres: []Genre{g}, RuntimeS: 6000,
			PublishedAt: time.Now().Add(-time.Duration(i) * time.Hour)})
		b.cat.maturity[id] = 20
		b.clusters = append(b.clusters, i%2)
	}
	s, err := New(Config{FlushInterval: 50 * time.Millisecond}, Deps{DB: db, Catalog: b.cat, Profiles: testProfiles{}, Queue: b.queue,
		Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	b.s = s
	return b
}

func (b *testBundle) complete(profile string, items ...int) {
	for _, i := range items {
		b.s.Record(context.Background(), Event{ID: uuid.New(), Kind: KindComplete, ProfileID: profile, TitleID: b.cat.items[i].ID,
			PositionS: 5400, At: time.Now()})
	}
}

func TestTrainChoosesAndStores(t *testing.T) {
	t.Parallel()
	b := setup(t, 40)
	ctx := context.Background()
	// 120 profiles, each finishing 6 titles of one cluster (and, now and
	// then, one of the other).
	rng := rand.New(rand.NewPCG(1, 2))
	var profiles []string
	for u := range 120 {
		p := uuid.NewString()
		profiles = append(profiles, p)
		var items []int
		for _, k := range rng.Perm(20)[:6] {
			items = append(items, k*2+u%2)
		}
		if u%5 == 0 {
			items = append(items, rng.IntN(20)*2+1-u%2)
		}
		b.complete(p, items...)
	}
	b.s.Flush(ctx)
	if b.queue.n[RescoreArgs{}.Kind()] != 120 {
		t.Errorf("rescore jobs for 120 profiles that finished titles: %d", b.queue.n[RescoreArgs{}.Kind()])
	}
	rep, err := b.s.Train(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Model.Kind != kindItemItem || rep.Model.Profiles != 120 || rep.Model.Items != 40 {
		t.Fatalf("model: %+v", rep.Model)
	}
	var pop, chosen float64
	for _, c := range rep.Candidates {
		if c.Model == "MostPop" {
			pop = c.NDCG
		}
		if c.Chosen {
			chosen = c.NDCG
		}
	}
	if !(chosen > pop) {
		t.Errorf("chosen NDCG@10 %.3f does not beat MostPop's %.3f: %+v", chosen, pop, rep.Candidates)
	}
	// Not due yet: the hourly check skips.
	if rep2, err := b.s.Train(ctx, false); err != nil || rep2.Skipped == "" {
		t.Errorf("second retrain within the interval: %+v, %v", rep2, err)
	}

	// Every profile's stored top-N leans to its cluster and holds nothing it finished.
	for n, p := range profiles[:10] {
		top, v, err := topNOf(ctx, b.s.db, p)
		if err != nil || v != rep.Model.Version || len(top.IDs) == 0 {
			t.Fatalf("top-n of %s: %+v v%d %v", p, top, v, err)
		}
		same := 0
		head := top.IDs[:min(5, len(top.IDs))]
		for _, id := range head {
			if b.clusters[b.index(id)] == n%2 {
				same++
			}
		}
		if same < 4 {
			t.Errorf("profile %d: %d of its top 5 in its cluster", n, same)
		}
	}

	// Nearline rescoring from the stored weights ranks as the retrain did.
	p := profiles[3]
	before, _, _ := topNOf(ctx, b.s.db, p)
	if err := b.s.Rescore(ctx, p); err != nil {
		t.Fatal(err)
	}
	after, _, _ := topNOf(ctx, b.s.db, p)
	if !slices.Equal(before.IDs[:10], after.IDs[:10]) {
		t.Errorf("rescore changed an unchanged profile's top 10:\n%v\n%v", before.IDs[:10], after.IDs[:10])
	}
	// A thumbs-down leaves the rescored top-N.
	v := Viewer{AccountID: uuid.NewString(), ProfileID: p, MaturityLevel: 20}
	if _, err := b.s.SetRating(ctx, v, after.IDs[0], Rating{Rating: ptr("down")}); err != nil {
		t.Fatal(err)
	}
	if err := b.s.Rescore(ctx, p); err != nil {
		t.Fatal(err)
	}
	again, _, _ := topNOf(ctx, b.s.db, p)
	if slices.Contains(again.IDs, after.IDs[0]) {
		t.Error("the thumbs-down title is still in the rescored top-N")
	}
}

func (b *testBundle) index(id string) int {
	return slices.IndexFunc(b.cat.items, func(it Item) bool { return it.ID == id })
}

func TestTrainingOneAtATime(t *testing.T) {
	t.Parallel()
	b := setup(t, 4)
	conn, err := b.s.db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_lock($1)`, trainLockKey); err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.Train(context.Background(), true); err != ErrTrainingBusy {
		t.Fatalf("train while another holds the lock: %v", err)
	}
}

func TestWatchWeight(t *testing.T) {
	t.Parallel()
	movie := &Item{Kind: "movie", RuntimeS: 6000}
	series := &Item{Kind: "series", Episodes: 10}
	for _, c := range []struct {
		name string
		w    watchRow
		it   *Item
		want float64
		done bool
	}{
		{"five minutes of a film", watchRow{MaxPositionS: 300}, movie, 0.05 + 0.45*0.05, false},
		{"finished film", watchRow{MaxPositionS: 5400, Completes: 1}, movie, model.FinishedWeight, true},
		{"rewatched twice", watchRow{MaxPositionS: 5400, Completes: 3}, movie, model.FinishedWeight + 1, true},
		{"half a series", watchRow{Completes: 5}, series, 0.05 + 0.45*0.5, false},
		{"whole series", watchRow{Completes: 10}, series, model.FinishedWeight, true},
	} {
		if got := watchWeight(c.w, c.it); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: weight %g, want %g", c.name, got, c.want)
		}
		if got := finished(c.w, c.it); got != c.done {
			t.Errorf("%s: finished %v", c.name, got)
		}
	}
}
