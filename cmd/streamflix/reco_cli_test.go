package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRecoEval(t *testing.T) {
	t.Parallel()
	// 60 users each rating 10 of 40 items: enough to rank, small enough for seconds.
	var data strings.Builder
	for u := range 60 {
		for k := range 10 {
			data.WriteString(strings.Join([]string{itoa(u + 1), itoa((u*7+k*3)%40 + 1), "4", itoa(881250949 + u*k)}, "\t") + "\n")
		}
	}
	file := filepath.Join(t.TempDir(), "u.data")
	if err := os.WriteFile(file, []byte(data.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"reco", "eval", "--ratings", file, "--seed", "7", "--test-fraction", "0.25"}, noEnv, &out, &errOut)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		for _, want := range []string{"seed 7, test fraction 0.25", "MostPop", "ItemKNN", "RP3beta", "EASE", "NDCG@10", "R@10 plain"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	})
	t.Run("EASEMaxItemsFromEnv", func(t *testing.T) {
		t.Parallel()
		var out, errOut bytes.Buffer
		env := func(k string) string {
			if k == "RECO_EASE_MAX_ITEMS" {
				return "10"
			}
			return ""
		}
		if code := run(context.Background(), []string{"reco", "eval", "--ratings", file}, env, &out, &errOut); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		if !strings.Contains(out.String(), "EASE refused") {
			t.Errorf("EASE ran over 40 items with RECO_EASE_MAX_ITEMS=10:\n%s", out.String())
		}
	})
	for _, tt := range []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"NoSubcommand", []string{"reco"}, "", "streamflix reco: want"},
		{"NoSource", []string{"reco", "eval"}, "", "want exactly one of --ratings FILE"},
		{"BadFraction", []string{"reco", "eval", "--ratings", file, "--test-fraction", "2"}, "", "--test-fraction"},
		{"BadEnv", []string{"reco", "eval", "--ratings", file}, "many", "RECO_EASE_MAX_ITEMS"},
		{"TrainWithoutTest", []string{"reco", "eval", "--train", file}, "", "--train and --test go together"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			env := func(k string) string {
				if k == "RECO_EASE_MAX_ITEMS" {
					return tt.env
				}
				return ""
			}
			if code := run(context.Background(), tt.args, env, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("exit %d, stderr %q, want non-zero and %q", code, errOut.String(), tt.want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
