package model

import (
	"testing"
	"time"
)

// Retrain benchmarks: each fits a model on a synthetic set and reports,
// next to ns/op, the fit time as a ratio against MostPop's fit on the
// same matrix measured in the same run (x-MostPop) and the peak heap of
// one fit (peak-MiB). Run them with
//
//	go test -run '^$' -bench BenchmarkFit -benchtime 1x ./internal/reco/model/
//
// EASE runs with one λ here: a retrain that searches the default grid
// costs len(DefaultEASELambdas)+1 such fits.

func BenchmarkFit100kInteractions2kItems(b *testing.B) {
	benchFit(b, SyntheticConfig{Users: 1000, Items: 2000, Interactions: 100_000, Seed: 1}, []func() Model{
		func() Model { return NewMostPop() },
		func() Model { return NewPopularity(30*24*time.Hour, nil) },
		func() Model { return NewItemKNN(100) },
		func() Model { return NewRP3beta() },
		func() Model { return &EASE{Lambdas: []float64{400}} },
	})
}

// BenchmarkFit1MInteractions20kItems is the sparse path: at 20,000 items
// dense EASE would need 6.4 GB and about n³ = 8·10¹² flops, so a retrain
// of this size uses the sparse models (and EASE refuses anything larger
// by default).
func BenchmarkFit1MInteractions20kItems(b *testing.B) {
	benchFit(b, SyntheticConfig{Users: 10_000, Items: 20_000, Interactions: 1_000_000, Clusters: 50, Seed: 1}, []func() Model{
		func() Model { return NewMostPop() },
		func() Model { return NewPopularity(30*24*time.Hour, nil) },
		func() Model { return NewItemKNN(100) },
		func() Model { return NewRP3beta() },
	})
}

func benchFit(b *testing.B, cfg SyntheticConfig, models []func() Model) {
	events, _ := Synthetic(cfg)
	x := build(events)
	b.Logf("%s", x)
	// The baseline: the best of five MostPop fits.
	base := time.Duration(1<<63 - 1)
	for range 5 {
		base = min(base, Measure(NewMostPop(), x).FitTime)
	}
	for _, newModel := range models {
		name := newModel().Name()
		b.Run(name, func(b *testing.B) {
			var fit time.Duration
			var peak uint64
			n := 0
			for b.Loop() {
				r := Measure(newModel(), x)
				if r.Err != nil {
					b.Fatal(r.Err)
				}
				fit += r.FitTime
				peak = max(peak, r.PeakHeap)
				n++
			}
			per := fit / time.Duration(n)
			b.ReportMetric(float64(per)/float64(base), "x-MostPop")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
			b.ReportMetric(per.Seconds(), "fit-s")
		})
	}
}
