package model

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// EvalOptions configure Eval. Exactly one source is given: Ratings (split
// at random), Train and Test (used as they are), or Synthetic.
type EvalOptions struct {
	// Ratings is a MovieLens-format file split at random into train and test.
	Ratings string
	// Train and Test are MovieLens-format files used as the split.
	Train, Test string
	// Synthetic uses a generated set the size of MovieLens-100k
	// (ML100kConfig with Seed) instead of a file.
	Synthetic bool
	// Seed seeds the split (and the synthetic set); zero means 42.
	Seed uint64
	// TestFraction is the share of interactions held out; zero means 0.2.
	TestFraction float64
	// K is the cut-off of the metrics; zero means 10.
	K int
	// EASEMaxItems is the largest catalog dense EASE accepts; zero means
	// DefaultEASEMaxItems.
	EASEMaxItems int
	// Select also runs the model selector on a validation split of the
	// training data and says which model would fill "Top picks".
	Select bool
}

// DefaultModels returns the candidates of a retrain, MostPop first:
// popularity (plain and with a 30-day half-life), ItemKNN and RP3β with
// their settings tuned on a validation split (NewTunedItemKNN,
// NewTunedRP3beta), and EASE with its λ chosen the same way (refusing
// catalogs above easeMaxItems; zero means the default).
func DefaultModels(easeMaxItems int) []Model {
	return []Model{
		NewMostPop(),
		NewPopularity(30*24*time.Hour, nil),
		NewTunedItemKNN(),
		NewTunedRP3beta(),
		&EASE{MaxItems: easeMaxItems},
	}
}

// Eval loads the data opts name, fits every model of DefaultModels on the
// training part and writes to w, for each, P@K, R@K (normalised and
// plain) and NDCG@K on the test part with the fit time and peak heap,
// followed by the published ML-100k figures for orientation. It is
// "streamflix reco eval". It returns an error naming the option for bad
// options, or the loader's error.
func Eval(w io.Writer, opts EvalOptions) error {
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	if opts.TestFraction == 0 {
		opts.TestFraction = 0.2
	}
	if opts.K == 0 {
		opts.K = 10
	}
	switch {
	case opts.TestFraction <= 0 || opts.TestFraction >= 1:
		return fmt.Errorf("--test-fraction: %g is not between 0 and 1", opts.TestFraction)
	case opts.K < 0:
		return fmt.Errorf("--k: %d is negative", opts.K)
	}
	sources := 0
	for _, set := range []bool{opts.Ratings != "", opts.Train != "" || opts.Test != "", opts.Synthetic} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return errors.New("want exactly one of --ratings FILE, --train FILE --test FILE, or --synthetic")
	}
	if (opts.Train == "") != (opts.Test == "") {
		return errors.New("--train and --test go together")
	}

	var train, test *Matrix
	var what string
	switch {
	case opts.Train != "":
		b := NewBuilder()
		if err := addFile(b, opts.Train); err != nil {
			return fmt.Errorf("--train: %w", err)
		}
		train = b.Build()
		tb := NewBuilderOn(train.Users, train.Items)
		if err := addFile(tb, opts.Test); err != nil {
			return fmt.Errorf("--test: %w", err)
		}
		test = tb.Build()
		// Ids first seen in test widened the indices: rebuild train on them.
		b2 := NewBuilderOn(train.Users, train.Items)
		_ = addFile(b2, opts.Train)
		train = b2.Build()
		what = fmt.Sprintf("train %s, test %s (given)", opts.Train, opts.Test)
	default:
		var events []Event
		if opts.Synthetic {
			events, _ = Synthetic(ML100kConfig(opts.Seed))
			what = fmt.Sprintf("synthetic ML-100k-sized set (seed %d)", opts.Seed)
		} else {
			f, err := os.Open(opts.Ratings)
			if err != nil {
				return fmt.Errorf("--ratings: %w", err)
			}
			events, err = ReadMovieLens(f)
			f.Close()
			if err != nil {
				return fmt.Errorf("--ratings %s: %w", opts.Ratings, err)
			}
			what = "ratings " + opts.Ratings
		}
		b := NewBuilder()
		for _, e := range events {
			b.Add(e)
		}
		all := b.Build()
		what += fmt.Sprintf(": %s; random split, seed %d, test fraction %g", all, opts.Seed, opts.TestFraction)
		train, test = Split(all, opts.Seed, opts.TestFraction)
	}
	fmt.Fprintf(w, "data: %s\n", what)
	fmt.Fprintf(w, "train %d, test %d interactions; %d items; full ranking over every item not in a user's training row\n\n",
		train.NNZ(), test.NNZ(), train.NumItems())

	k := opts.K
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "model\tP@%d\tR@%d\tR@%d plain\tNDCG@%d\tusers\tfit\tpeak heap\tallocated\t\n", k, k, k, k)
	var notes []string
	for _, m := range DefaultModels(opts.EASEMaxItems) {
		r := Run(m, train, test, k)
		if r.Err != nil {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t-\t\n", r.Model)
			notes = append(notes, fmt.Sprintf("%s refused: %v", r.Model, r.Err))
			continue
		}
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%d\t%s\t%s\t%s\t\n", r.Model, r.Precision, r.Recall, r.RecallPlain, r.NDCG,
			r.Users, r.FitTime.Round(time.Millisecond), mib(r.PeakHeap), mib(r.Allocated))
		switch m := m.(type) {
		case *EASE:
			if m.ValidationNDCG() != nil {
				notes = append(notes, "EASE λ chosen by NDCG@10 on a validation split of train: "+lambdaLine(m))
			}
		case *Tuned:
			notes = append(notes, r.Model+" chosen by NDCG@10 on a validation split of train: "+tunedLine(m))
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nR@%d = hits/min(%d, |test|) (Liang et al. 2018); R@%d plain = hits/|test|.\n", k, k, k)
	fmt.Fprintln(w, "fit = wall time of Fit, including the search over settings on a validation split of train; peak heap = highest HeapAlloc (live + not yet collected) during Fit above the heap before it.")
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintln(w, "Published ML-100k (random 80/20, full ranking), for orientation: MostPop NDCG@10 ≈ 0.22, ItemKNN ≈ 0.40, MF ≈ 0.44, SLIM ≈ 0.44.")
	if opts.Select {
		sel, err := Select(train, DefaultModels(opts.EASEMaxItems), SelectOptions{Seed: opts.Seed, K: k})
		if err != nil {
			return fmt.Errorf("select: %w", err)
		}
		parts := make([]string, len(sel.Results))
		for n, r := range sel.Results {
			if r.Err != nil {
				parts[n] = r.Model + ": refused"
			} else {
				parts[n] = fmt.Sprintf("%s: %.4f", r.Model, r.NDCG)
			}
		}
		fmt.Fprintf(w, "\nselector (validation split of train, seed %d): Top picks from %s (validation NDCG@%d: %s)\n",
			opts.Seed, sel.Best.Name(), k, strings.Join(parts, ", "))
	}
	return nil
}

func addFile(b *Builder, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	events, err := ReadMovieLens(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, e := range events {
		b.Add(e)
	}
	return nil
}

func lambdaLine(e *EASE) string {
	s := e.ValidationNDCG()
	ls := make([]float64, 0, len(s))
	for l := range s {
		ls = append(ls, l)
	}
	slices.Sort(ls)
	parts := make([]string, len(ls))
	for n, l := range ls {
		parts[n] = fmt.Sprintf("λ=%g: %.4f", l, s[l])
	}
	return fmt.Sprintf("%g (%s)", e.Lambda(), strings.Join(parts, ", "))
}

func tunedLine(t *Tuned) string {
	parts := make([]string, len(t.Candidates))
	for n, c := range t.Candidates {
		parts[n] = fmt.Sprintf("%s: %.4f", c.Name(), t.ValidationNDCG()[n])
	}
	return strings.Join(parts, ", ")
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
