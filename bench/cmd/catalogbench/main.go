// Command catalogbench is the catalog part of `make bench`.
//
//	catalogbench prepare -url U -email E -password P -dir D
//
// signs in, selects the account's first profile and writes what bench/run.sh
// hands to wrk: D/token (a profile-scoped access token), D/title (one
// published title id, the warm title page) and D/titles.lua (a wrk script
// walking every published title id from an offset given after `--`, so each
// request of a cold run asks for a title page no run has read before).
//
//	catalogbench search -url U -token-file F [-n 2000] [-c 4]
//
// measures search latency (GET /api/v1/search and /search/suggest) over
// queries made from the catalog's own names: one word, two words, a word
// with a typo, and a prefix for autocomplete. It prints p50, p99 and max per
// kind and overall; nothing is asserted.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/platform/pg"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: catalogbench prepare|search [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "prepare":
		err = prepare(os.Args[2:])
	case "search":
		err = search(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "catalogbench:", err)
		os.Exit(1)
	}
}

var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// call does one JSON request and decodes a 2xx answer into out.
func call(method, u, tok string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func openDB() (*sqlx.DB, error) {
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		return nil, errors.New("DATABASE_URL is not set")
	}
	return pg.Open(context.Background(), pg.Options{URL: dsn, MaxOpenConns: 2, MaxIdleConns: 2})
}

func prepare(args []string) error {
	fs := flag.NewFlagSet("prepare", flag.ExitOnError)
	base := fs.String("url", "", "base URL of a running streamflix")
	email := fs.String("email", "", "account to sign in as")
	pw := fs.String("password", "", "its password")
	dir := fs.String("dir", ".", "where to write token, title and titles.lua")
	_ = fs.Parse(args)

	var login struct {
		AccessToken string `json:"access_token"`
	}
	err := call("POST", *base+"/api/v1/auth/login", "", map[string]any{"email": *email, "password": *pw,
		"device": map[string]string{"name": "catalogbench", "kind": "other"}}, &login)
	if err != nil {
		return err
	}
	var profiles struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := call("GET", *base+"/api/v1/profiles", login.AccessToken, nil, &profiles); err != nil {
		return err
	}
	if len(profiles.Items) == 0 {
		return errors.New("the bench account has no profile")
	}
	var scoped struct {
		AccessToken string `json:"access_token"`
	}
	if err := call("POST", *base+"/api/v1/auth/profile", login.AccessToken, map[string]string{"profile_id": profiles.Items[0].ID}, &scoped); err != nil {
		return err
	}

	db, err := openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	// Titles the adult profile sees, in an order unrelated to insertion.
	var ids []string
	err = db.Select(&ids, `SELECT id::text FROM content.titles
		WHERE status = 'published' AND (available_from IS NULL OR available_from <= now())
		  AND (available_until IS NULL OR available_until > now()) ORDER BY md5(id::text)`)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return errors.New("no published titles: seed the catalog first (streamflix seed --scale N)")
	}
	var lua strings.Builder
	lua.WriteString("-- Written by catalogbench prepare: every published title once.\nlocal ids = {\n")
	for _, id := range ids {
		fmt.Fprintf(&lua, "%q,\n", id)
	}
	// wrk ... -s titles.lua -- OFFSET starts the walk at OFFSET, so
	// successive runs ask for titles no earlier run read.
	lua.WriteString("}\nlocal i = 0\ninit = function(args)\n  i = (tonumber(args[1]) or 0) % #ids\nend\n" +
		"request = function()\n  i = i % #ids + 1\n  return wrk.format(\"GET\", \"/api/v1/titles/\" .. ids[i])\nend\n")
	files := map[string]string{"token": scoped.AccessToken, "title": ids[0], "titles.lua": lua.String()}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(*dir, name), []byte(content), 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "catalogbench: %d published titles\n", len(ids))
	return nil
}

// query is one search to time.
type query struct {
	kind string // word, two words, typo, prefix
	path string
}

// queries makes n queries from names in the catalog.
func queries(db *sqlx.DB, n int, rng *rand.Rand) ([]query, error) {
	var names []string
	if err := db.Select(&names, `SELECT name FROM content.titles WHERE status = 'published' ORDER BY md5(id::text) LIMIT $1`, n); err != nil {
		return nil, err
	}
	var out []query
	for i, name := range names {
		words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return !unicode.IsLetter(r) })
		var long []string
		for _, w := range words {
			if len([]rune(w)) >= 4 {
				long = append(long, w)
			}
		}
		if len(long) == 0 {
			continue
		}
		w := long[rng.IntN(len(long))]
		var q query
		switch i % 4 {
		case 0:
			q = query{"one word", "/api/v1/search?q=" + url.QueryEscape(w)}
		case 1:
			two := w
			if len(long) > 1 {
				two = long[0] + " " + long[1]
			}
			q = query{"two words", "/api/v1/search?q=" + url.QueryEscape(two)}
		case 2:
			q = query{"typo", "/api/v1/search?q=" + url.QueryEscape(typo(w, rng))}
		default:
			q = query{"prefix (suggest)", "/api/v1/search/suggest?q=" + url.QueryEscape(w[:3])}
		}
		out = append(out, q)
	}
	return out, nil
}

// typo swaps two neighbouring letters of w.
func typo(w string, rng *rand.Rand) string {
	r := []rune(w)
	i := 1 + rng.IntN(len(r)-2)
	r[i], r[i+1] = r[i+1], r[i]
	return string(r)
}

func search(args []string) error {
	fs := flag.NewFlagSet("search", flag.ExitOnError)
	base := fs.String("url", "", "base URL of a running streamflix")
	tokFile := fs.String("token-file", "", "file holding a profile-scoped access token")
	n := fs.Int("n", 2000, "queries")
	conc := fs.Int("c", 4, "concurrent clients")
	_ = fs.Parse(args)
	tok, err := os.ReadFile(*tokFile)
	if err != nil {
		return err
	}
	db, err := openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	var total int
	if err := db.Get(&total, `SELECT count(*) FROM content.titles WHERE status = 'published'`); err != nil {
		return err
	}
	qs, err := queries(db, *n, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		return err
	}
	if len(qs) == 0 {
		return errors.New("no names to make queries from")
	}
	// Warm-up: Postgres's buffers and the connection pools.
	for _, q := range qs[:min(len(qs), 100)] {
		if err := call("GET", *base+q.path, string(tok), nil, nil); err != nil {
			return err
		}
	}
	lat := make(map[string][]time.Duration)
	var mu sync.Mutex
	var firstErr error
	work := make(chan query)
	var wg sync.WaitGroup
	for range *conc {
		wg.Go(func() {
			for q := range work {
				t0 := time.Now()
				err := call("GET", *base+q.path, string(tok), nil, nil)
				d := time.Since(t0)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat[q.kind] = append(lat[q.kind], d)
				lat["all"] = append(lat["all"], d)
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	for _, q := range qs {
		work <- q
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	elapsed := time.Since(start)
	fmt.Printf("catalog: search over %d published titles, %d queries from %d clients (%.0f queries/s)\n",
		total, len(qs), *conc, float64(len(qs))/elapsed.Seconds())
	fmt.Printf("  %-18s %6s %9s %9s %9s\n", "query", "n", "p50", "p99", "max")
	for _, k := range []string{"one word", "two words", "typo", "prefix (suggest)", "all"} {
		d := lat[k]
		if len(d) == 0 {
			continue
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		pct := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000 }
		fmt.Printf("  %-18s %6d %7.2fms %7.2fms %7.2fms\n", k, len(d), pct(0.5), pct(0.99), float64(d[len(d)-1].Microseconds())/1000)
	}
	fmt.Println("  target: p99 under 50 ms at 100,000 titles")
	return nil
}
