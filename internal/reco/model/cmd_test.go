package model

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadMovieLens(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		in := "196\t242\t3\t881250949\n\n# comment\n186 302 1 891717742\n22::377::5::978300760\n7 8 4.5\n"
		ev, err := ReadMovieLens(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		want := []Event{
			{User: 196, Item: 242, Weight: 1, Time: time.Unix(881250949, 0)},
			{User: 186, Item: 302, Weight: 1, Time: time.Unix(891717742, 0)},
			{User: 22, Item: 377, Weight: 1, Time: time.Unix(978300760, 0)},
			{User: 7, Item: 8, Weight: 1},
		}
		if len(ev) != len(want) {
			t.Fatalf("%d events, want %d", len(ev), len(want))
		}
		for n := range want {
			if ev[n] != want[n] {
				t.Errorf("event %d = %+v, want %+v (a 1-star rating is a positive too)", n, ev[n], want[n])
			}
		}
	})
	for _, tt := range []struct{ name, in, want string }{
		{"TooFewFields", "1 2 3 4\n1 2\n", "line 2: want user item rating"},
		{"BadUser", "x 2 3 4\n", `line 1: user "x"`},
		{"BadItem", "1 y 3 4\n", `line 1: item "y"`},
		{"BadRating", "1 2 good 4\n", `line 1: rating "good"`},
		{"BadTime", "1 2 3 soon\n", `line 1: timestamp "soon"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadMovieLens(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func writeRatings(t *testing.T, dir, name string, events []Event) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteMovieLens(&buf, events); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEval(t *testing.T) {
	t.Parallel()
	events, _ := Synthetic(SyntheticConfig{Users: 200, Items: 120, Interactions: 4000, Clusters: 8, Seed: 2})
	dir := t.TempDir()
	ratings := writeRatings(t, dir, "u.data", events)
	models := []string{"MostPop", "PopDecay", "ItemKNN", "RP3beta", "EASE(λ="}

	t.Run("Ratings", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		if err := Eval(&out, EvalOptions{Ratings: ratings, Select: true}); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		for _, want := range append(models, "P@10", "R@10 plain", "NDCG@10", "seed 42, test fraction 0.2",
			"200 users × 120 items, 4000 interactions", "train 3200, test 800", "MostPop NDCG@10 ≈ 0.22", "Top picks from") {
			if !strings.Contains(s, want) {
				t.Errorf("output lacks %q:\n%s", want, s)
			}
		}
	})
	t.Run("TrainTest", func(t *testing.T) {
		t.Parallel()
		var tr, te []Event
		for n, e := range events {
			if n%5 == 0 {
				te = append(te, e)
			} else {
				tr = append(tr, e)
			}
		}
		te = append(te, Event{User: 9999, Item: 9999, Weight: 1}) // ids only in test are ranked too
		var out bytes.Buffer
		err := Eval(&out, EvalOptions{Train: writeRatings(t, dir, "train", tr), Test: writeRatings(t, dir, "test", te)})
		if err != nil {
			t.Fatal(err)
		}
		if s := out.String(); !strings.Contains(s, "(given)") || !strings.Contains(s, "train 3200, test 801") {
			t.Errorf("output:\n%s", s)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		if err := Eval(&out, EvalOptions{Ratings: ratings, EASEMaxItems: 50}); err != nil {
			t.Fatal(err)
		}
		if s := out.String(); !strings.Contains(s, "EASE refused: EASE over 120 items (max 50") {
			t.Errorf("output does not say EASE was refused:\n%s", s)
		}
	})
	for _, tt := range []struct {
		name string
		opts EvalOptions
		want string
	}{
		{"NoSource", EvalOptions{}, "want exactly one of"},
		{"TwoSources", EvalOptions{Ratings: ratings, Synthetic: true}, "want exactly one of"},
		{"TrainOnly", EvalOptions{Train: ratings}, "--train and --test go together"},
		{"Fraction", EvalOptions{Ratings: ratings, TestFraction: 1.5}, "--test-fraction"},
		{"Missing", EvalOptions{Ratings: filepath.Join(dir, "nope")}, "--ratings"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Eval(&bytes.Buffer{}, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Eval error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
