package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/streamflix/streamflix/internal/reco/model"
)

const recoUsage = `streamflix reco: want
  streamflix reco train                           (retrain now from the database, as the hourly job does when due)
  streamflix reco eval --ratings FILE [--seed 42] [--test-fraction 0.2] [--k 10] [--select]
  streamflix reco eval --train FILE --test FILE [--k 10] [--select]
  streamflix reco eval --synthetic [--seed 42]    (a generated set the size of MovieLens-100k)
FILE is MovieLens format: "user item rating [timestamp]" per line, whitespace- or "::"-separated;
every rating counts as an implicit positive.
`

// recoTrain runs "streamflix reco train": one retrain, in this process,
// unless another instance is training (exit 1, "busy").
func recoTrain(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	m, code := openOffline(ctx, "streamflix reco", getenv, stdout, stderr)
	if m == nil {
		return code
	}
	defer m.Close()
	rep, err := m.Reco.Train(ctx, true)
	if err != nil {
		fmt.Fprintf(stderr, "streamflix reco train: %v\n", err)
		return 1
	}
	if rep.Skipped != "" {
		fmt.Fprintf(stdout, "not trained: %s\n", rep.Skipped)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tNDCG@10\tP@10\tR@10\tUSERS\tFIT\tPEAK HEAP\t")
	for _, c := range rep.Candidates {
		mark := ""
		if c.Chosen {
			mark = "<- Top picks"
		}
		if c.Error != "" {
			mark = c.Error
		}
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%d\t%dms\t%.1f MB\t%s\n", c.Model, c.NDCG, c.Precision, c.Recall, c.Users, c.FitMS, float64(c.PeakBytes)/(1<<20), mark)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "model version %d: %s over %d profiles, %d titles, %d interactions in %dms\n",
		rep.Model.Version, rep.Model.Model, rep.Model.Profiles, rep.Model.Items, rep.Model.Interactions, rep.Model.TrainMS)
	return 0
}

// recoCmd runs "streamflix reco eval": the offline evaluation of every
// recommendation model. It needs no database. RECO_EASE_MAX_ITEMS (or
// --ease-max-items) caps the catalog dense EASE accepts.
func recoCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 1 && args[0] == "train" {
		return recoTrain(ctx, getenv, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "eval" {
		fmt.Fprint(stderr, recoUsage)
		return 2
	}
	fs := flag.NewFlagSet("streamflix reco eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts model.EvalOptions
	fs.StringVar(&opts.Ratings, "ratings", "", "MovieLens-format `FILE` to split at random into train and test")
	fs.StringVar(&opts.Train, "train", "", "MovieLens-format training `FILE` (with --test)")
	fs.StringVar(&opts.Test, "test", "", "MovieLens-format test `FILE` (with --train)")
	fs.BoolVar(&opts.Synthetic, "synthetic", false, "evaluate on a generated MovieLens-100k-sized set (943 users, 1,682 items, 100,000 interactions)")
	fs.Uint64Var(&opts.Seed, "seed", 42, "seed of the random split (and of --synthetic)")
	fs.Float64Var(&opts.TestFraction, "test-fraction", 0.2, "share of interactions held out for testing, between 0 and 1")
	fs.IntVar(&opts.K, "k", 10, "cut-off of P@k, R@k and NDCG@k")
	fs.BoolVar(&opts.Select, "select", false, "also pick the Top-picks model on a validation split of the training data")
	maxItems := model.DefaultEASEMaxItems
	if v := getenv("RECO_EASE_MAX_ITEMS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			fmt.Fprintf(stderr, "streamflix reco eval: RECO_EASE_MAX_ITEMS: %q is not a positive integer\n", v)
			return 2
		}
		maxItems = n
	}
	fs.IntVar(&opts.EASEMaxItems, "ease-max-items", maxItems, "largest catalog dense EASE accepts (env RECO_EASE_MAX_ITEMS); above it only sparse models run")
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "streamflix reco eval: unexpected argument %q\n\n%s", fs.Arg(0), recoUsage)
		return 2
	}
	if opts.K <= 0 || opts.EASEMaxItems <= 0 {
		fmt.Fprint(stderr, "streamflix reco eval: --k and --ease-max-items must be positive\n")
		return 2
	}
	if err := model.Eval(stdout, opts); err != nil {
		fmt.Fprintf(stderr, "streamflix reco eval: %v\n", err)
		return 1
	}
	return 0
}
