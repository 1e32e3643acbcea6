// Command paymentbench measures billing for `make bench`, on a real
// `streamflix serve` it starts (with the sandbox provider) over a database
// of its own, made next to DATABASE_URL's and dropped at the end:
//
//   - webhook events processed per second end to end: signed
//     customer.subscription.updated events (incomplete -> active) POSTed to
//     /api/v1/billing/webhooks/sandbox by -posters clients, timed until
//     every one is applied (recorded, the subscription active with its
//     transition, the subscription_started notify job inserted), next to
//     bare inserts of the same rows in the same tables (the event row, the
//     subscription update, the transition, two job rows) from the same
//     number of goroutines, one transaction an event;
//   - POST /api/v1/billing/checkout with an Idempotency-Key for many verified
//     accounts, next to benchserver's bare handler (GET /api/v1/bench/item),
//     with p50 and p99, from -conns concurrent clients.
//
// Each figure is the median of -rounds interleaved rounds, the order
// rotating, and its ratio is taken round by round. Accounts are inserted
// verified and signed in without passwords (sessions in auth.sessions,
// tokens signed with the instance's keys). Nothing is asserted.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/streamflix/streamflix/bench/internal/harness"
	"github.com/streamflix/streamflix/internal/auth/token"
	"github.com/streamflix/streamflix/internal/platform/pg"
)

const secret = "whsec_paymentbench_secret"

type options struct {
	streamflix, benchserver string
	events, rounds, posters int
	accounts, conns         int
	duration                time.Duration
	keep                    bool
}

func main() {
	var o options
	flag.StringVar(&o.streamflix, "streamflix", "", "path of a built streamflix binary (required)")
	flag.StringVar(&o.benchserver, "benchserver", "", "path of a built benchserver binary (required)")
	flag.IntVar(&o.events, "events", 500, "webhook events a round (and as many bare-insert events)")
	flag.IntVar(&o.rounds, "rounds", 5, "interleaved rounds of every variant")
	flag.IntVar(&o.posters, "posters", 16, "concurrent webhook senders (and bare-insert goroutines)")
	flag.IntVar(&o.accounts, "accounts", 1000, "verified accounts the checkouts cycle through")
	flag.IntVar(&o.conns, "conns", 32, "concurrent checkout (and bare) clients")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "checkout measurement per variant, split over the rounds")
	flag.BoolVar(&o.keep, "keep", false, "keep the database (for a look afterwards)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "paymentbench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.streamflix == "" || o.benchserver == "" {
		return errors.New("-streamflix and -benchserver are required")
	}
	if o.rounds < 1 || o.events < 1 || o.posters < 1 || o.conns < 1 {
		return errors.New("-rounds, -events, -posters and -conns must be positive")
	}
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		return errors.New("DATABASE_URL is not set")
	}
	// Checkout starts (or restarts) one incomplete subscription an account;
	// every webhook event and every bare event takes one of its own.
	need := 2 * o.rounds * o.events
	o.accounts = max(o.accounts, need)
	ctx := context.Background()

	dbURL, drop, err := harness.Database(ctx, base, fmt.Sprintf("streamflix_bench_payment_%d", os.Getpid()), o.keep)
	if err != nil {
		return err
	}
	defer drop()
	tmp, err := os.MkdirTemp("", "paymentbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	env := append(os.Environ(), "DATABASE_URL="+dbURL)
	mig := exec.Command(o.streamflix, "migrate", "up")
	mig.Env, mig.Stderr = env, os.Stderr
	if err := mig.Run(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	sfURL, stopSF, err := harness.Spawn(tmp, "streamflix", "/readyz", func(addr string) *exec.Cmd {
		c := exec.Command(o.streamflix, "serve")
		c.Env = append(env, "HTTP_ADDR="+addr, "LOG_LEVEL=warn", "LOG_FORMAT=json", "DRAIN_DELAY=0s",
			"RATE_LIMIT_IP=0", "RATE_LIMIT_USER=0", "PAYMENT_PROVIDER=sandbox", "PAYMENT_WEBHOOK_SECRET="+secret,
			"MAIL_DIR="+filepath.Join(tmp, "mail"))
		return c
	})
	if err != nil {
		return err
	}
	defer stopSF()
	bareURL, stopBare, err := harness.Spawn(tmp, "benchserver", "/healthz", func(addr string) *exec.Cmd {
		return exec.Command(o.benchserver, "-mode", "bare", "-addr", addr)
	})
	if err != nil {
		return err
	}
	defer stopBare()

	db, err := pg.Open(ctx, pg.Options{URL: dbURL, MaxOpenConns: o.posters + 2, MaxIdleConns: o.posters + 2})
	if err != nil {
		return err
	}
	defer db.Close()
	accounts, toks, err := makeAccounts(ctx, db, o.accounts)
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: max(o.conns, o.posters) + 4, DisableCompression: true}, Timeout: 30 * time.Second}

	// Checkout: interleaved with the bare handler.
	slice := o.duration / time.Duration(o.rounds)
	if slice < time.Second {
		slice = time.Second
	}
	var seq atomic.Int64
	checkout := func(ctx context.Context) error {
		i := int(seq.Add(1) - 1)
		body := strings.NewReader(`{"plan":"standard"}`)
		req, _ := http.NewRequestWithContext(ctx, "POST", sfURL+"/api/v1/billing/checkout", body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+toks[i%len(toks)])
		req.Header.Set("Idempotency-Key", fmt.Sprintf("paymentbench-%d", i))
		return do(hc, req)
	}
	bare := func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", bareURL+"/api/v1/bench/item", nil)
		return do(hc, req)
	}
	// Warm up, and give every account its incomplete subscription.
	if _, err := load(o.conns, time.Second, bare); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "paymentbench: %d accounts, a checkout each\n", len(accounts))
	for range (len(accounts) + o.conns - 1) / o.conns {
		if err := batch(o.conns, checkout); err != nil {
			return fmt.Errorf("checkout: %w", err)
		}
	}
	type loadRun struct{ rps, p50, p99 float64 }
	var coRuns, bareRuns []loadRun
	var coErrs, bareErrs int
	fmt.Fprintf(os.Stderr, "paymentbench: checkout, %d rounds of %s per variant\n", o.rounds, slice)
	for r := range o.rounds {
		for i := range 2 {
			res, err := load(o.conns, slice, []func(context.Context) error{bare, checkout}[(i+r)%2])
			if err != nil {
				return err
			}
			lr := loadRun{res.rps(), res.pct(50), res.pct(99)}
			if (i+r)%2 == 0 {
				bareRuns, bareErrs = append(bareRuns, lr), bareErrs+res.errs
			} else {
				coRuns, coErrs = append(coRuns, lr), coErrs+res.errs
			}
		}
	}

	// Webhooks: each variant takes subscriptions still incomplete.
	subs, err := incompleteSubscriptions(ctx, db, need)
	if err != nil {
		return err
	}
	var e2e, answered, bareIns []float64
	var hookP50, hookP99 []float64
	fmt.Fprintf(os.Stderr, "paymentbench: webhooks, %d rounds of %d events per variant\n", o.rounds, o.events)
	for r := range o.rounds {
		for i := range 2 {
			take := subs[:o.events]
			subs = subs[o.events:]
			var rate float64
			var err error
			if (i+r)%2 == 0 {
				rate, err = bareInserts(ctx, db, take, o.posters)
				bareIns = append(bareIns, rate)
			} else {
				var hr hookRun
				hr, err = webhooks(ctx, db, hc, sfURL, take, o.posters)
				e2e, answered = append(e2e, hr.applied), append(answered, hr.answered)
				hookP50 = append(hookP50, float64(hr.p50)/float64(time.Millisecond))
				hookP99 = append(hookP99, float64(hr.p99)/float64(time.Millisecond))
			}
			if err != nil {
				return err
			}
		}
	}
	applied, jobs, err := webhookCheck(ctx, db)
	// The notify jobs are worked (emails filed in MAIL_DIR) while later
	// rounds run, in both variants alike.
	if err != nil {
		return err
	}

	ratio := func(a, b []float64) float64 {
		var x []float64
		for i := range a {
			if b[i] > 0 {
				x = append(x, a[i]/b[i])
			}
		}
		return harness.Median(x)
	}
	col := func(rs []loadRun, f func(loadRun) float64) []float64 {
		var x []float64
		for _, r := range rs {
			x = append(x, f(r))
		}
		return x
	}
	errNote := func(n int) string {
		if n == 0 {
			return ""
		}
		return fmt.Sprintf("  (%d errors)", n)
	}
	fmt.Printf("payment: webhooks, %d signed customer.subscription.updated events a round (incomplete -> active), %d senders, medians of %d interleaved rounds\n",
		o.events, o.posters, o.rounds)
	fmt.Printf("  bare INSERTs of the same rows:     %7.0f events/s  (event, subscription update, transition, 2 job rows; one transaction an event)\n", harness.Median(bareIns))
	fmt.Printf("  end to end through streamflix:     %7.0f events/s  %.2f of bare; POST, verify, record, River job, apply, notify job\n", harness.Median(e2e), ratio(e2e, bareIns))
	fmt.Printf("  POSTs answered (2xx):              %7.0f events/s  %.2f of bare; p50 %.2fms p99 %.2fms; verify, record, queue only\n",
		harness.Median(answered), ratio(answered, bareIns), harness.Median(hookP50), harness.Median(hookP99))
	fmt.Printf("  applied %d of %d events; %d subscription_started jobs inserted\n", applied, o.events*o.rounds, jobs)
	fmt.Println()
	fmt.Printf("payment: POST /api/v1/billing/checkout with Idempotency-Key, %d accounts, %d connections, %s per variant, medians of %d interleaved rounds\n",
		len(accounts), o.conns, slice*time.Duration(o.rounds), o.rounds)
	fmt.Printf("  %-28s %8s %9s %9s   %s\n", "variant", "req/s", "p50", "p99", "ratio vs bare")
	for _, v := range []struct {
		label string
		runs  []loadRun
		errs  int
	}{{"bare net/http (JSON item)", bareRuns, bareErrs}, {"checkout (sandbox)", coRuns, coErrs}} {
		fmt.Printf("  %-28s %8.0f %7.2fms %7.2fms   %.2f%s\n", v.label, harness.Median(col(v.runs, func(r loadRun) float64 { return r.rps })),
			harness.Median(col(v.runs, func(r loadRun) float64 { return r.p50 })), harness.Median(col(v.runs, func(r loadRun) float64 { return r.p99 })),
			ratio(col(v.runs, func(r loadRun) float64 { return r.rps }), col(bareRuns, func(r loadRun) float64 { return r.rps })), errNote(v.errs))
	}
	return nil
}

// makeAccounts inserts n verified accounts and signs each in: a session in
// auth.sessions and an access token signed with the instance's keys.
func makeAccounts(ctx context.Context, db *sqlx.DB, n int) ([]string, []string, error) {
	ids, sessions, emails := make([]string, n), make([]string, n), make([]string, n)
	for i := range ids {
		ids[i], sessions[i] = uuid.NewString(), uuid.NewString()
		emails[i] = fmt.Sprintf("payer-%d@bench.example", i)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO users.accounts (id, email, email_key, email_verified_at)
		SELECT id, e, e, now() FROM unnest($1::uuid[], $2::text[]) AS t(id, e)`, pq.StringArray(ids), pq.StringArray(emails)); err != nil {
		return nil, nil, fmt.Errorf("insert accounts: %w", err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO auth.sessions (id, user_id, device_name, device_kind, ip, user_agent)
		SELECT s, u, 'paymentbench', 'other', '127.0.0.1', 'paymentbench' FROM unnest($1::uuid[], $2::uuid[]) AS t(s, u)`,
		pq.StringArray(sessions), pq.StringArray(ids)); err != nil {
		return nil, nil, fmt.Errorf("open sessions: %w", err)
	}
	tm, err := token.New(ctx, token.Config{DB: db, TTL: 2 * time.Hour})
	if err != nil {
		return nil, nil, err
	}
	toks := make([]string, n)
	for i := range toks {
		if toks[i], _, err = tm.Issue(token.Claims{UserID: ids[i], SessionID: sessions[i]}); err != nil {
			return nil, nil, err
		}
	}
	return ids, toks, nil
}

func do(hc *http.Client, req *http.Request) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: status %d", req.Method, req.URL.Path, resp.StatusCode)
	}
	return nil
}

// batch runs f n times at once and returns the first error.
func batch(n int, f func(context.Context) error) error {
	errs := make(chan error, n)
	for range n {
		go func() { errs <- f(context.Background()) }()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

type loadResult struct {
	lat     []time.Duration
	errs    int
	elapsed time.Duration
}

func (r loadResult) rps() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

// pct is the p-th percentile latency in milliseconds.
func (r loadResult) pct(p int) float64 {
	if len(r.lat) == 0 {
		return 0
	}
	s := slices.Clone(r.lat)
	slices.Sort(s)
	i := max(0, min((len(s)*p+99)/100-1, len(s)-1))
	return float64(s[i]) / float64(time.Millisecond)
}

// load runs f from conns goroutines for d, each request after the last.
func load(conns int, d time.Duration, f func(context.Context) error) (loadResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	var res loadResult
	var firstErr error
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			errs := 0
			for ctx.Err() == nil {
				t := time.Now()
				err := f(ctx)
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					errs++
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.errs += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	if len(res.lat) == 0 && firstErr != nil {
		return res, firstErr
	}
	return res, nil
}

type sub struct {
	ID      string `db:"id"`
	Account string `db:"account_id"`
	PriceID int64  `db:"price_id"`
}

func incompleteSubscriptions(ctx context.Context, db *sqlx.DB, n int) ([]sub, error) {
	var subs []sub
	if err := db.SelectContext(ctx, &subs, `SELECT id, account_id, price_id FROM payment.subscriptions WHERE status = 'incomplete' ORDER BY id LIMIT $1`, n); err != nil {
		return nil, err
	}
	if len(subs) < n {
		return nil, fmt.Errorf("only %d incomplete subscriptions, need %d", len(subs), n)
	}
	return subs, nil
}

// event is a signed customer.subscription.updated moving s to active, as
// Stripe (and the sandbox) would send it after a paid checkout.
func event(prefix string, s sub) (id string, payload []byte, sig string) {
	now := time.Now()
	id = prefix + strings.ReplaceAll(uuid.NewString(), "-", "")
	obj := map[string]any{
		"id": "sub_bench_" + strings.ReplaceAll(s.ID, "-", ""), "object": "subscription", "status": "active",
		"customer": "cus_bench_" + strings.ReplaceAll(s.Account, "-", ""), "cancel_at_period_end": false,
		"metadata": map[string]string{"subscription_id": s.ID, "account_id": s.Account, "price_id": fmt.Sprint(s.PriceID)},
		"items": map[string]any{"object": "list", "data": []map[string]any{{"id": "si_bench", "object": "subscription_item",
			"current_period_start": now.Unix(), "current_period_end": now.AddDate(0, 1, 0).Unix()}}},
	}
	payload, _ = json.Marshal(map[string]any{"id": id, "object": "event", "api_version": stripe.APIVersion, "created": now.Unix(),
		"type": "customer.subscription.updated", "data": map[string]any{"object": obj}})
	sig = webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: now}).Header
	return id, payload, sig
}

// hookRun is one end-to-end webhook round.
type hookRun struct {
	applied  float64       // events per second, first POST to the last applied
	answered float64       // events per second, first POST to the last 2xx
	p50, p99 time.Duration // of the POSTs' answers
}

// webhooks POSTs one signed event per subscription from posters clients
// and times it until every event is processed.
func webhooks(ctx context.Context, db *sqlx.DB, hc *http.Client, base string, subs []sub, posters int) (hookRun, error) {
	type ev struct {
		id, sig string
		payload []byte
	}
	evs := make([]ev, len(subs))
	ids := make([]string, len(subs))
	for i, s := range subs {
		evs[i].id, evs[i].payload, evs[i].sig = event("evt_hook_", s)
		ids[i] = evs[i].id
	}
	var next atomic.Int64
	var firstErr atomic.Value
	lat := make([]time.Duration, len(evs))
	start := time.Now()
	var wg sync.WaitGroup
	for range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(evs) {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/billing/webhooks/sandbox", bytes.NewReader(evs[i].payload))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Stripe-Signature", evs[i].sig)
				t := time.Now()
				if err := do(hc, req); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	var out hookRun
	out.answered = float64(len(subs)) / time.Since(start).Seconds()
	lr := loadResult{lat: lat}
	out.p50 = time.Duration(lr.pct(50) * float64(time.Millisecond))
	out.p99 = time.Duration(lr.pct(99) * float64(time.Millisecond))
	if err, _ := firstErr.Load().(error); err != nil {
		return out, fmt.Errorf("webhook: %w", err)
	}
	for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var done int
		if err := db.GetContext(ctx, &done, `SELECT count(*) FROM payment.webhook_events WHERE provider = 'sandbox' AND event_id = ANY($1) AND processed_at IS NOT NULL`,
			pq.StringArray(ids)); err != nil {
			return out, err
		}
		if done == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			return out, fmt.Errorf("webhook: %d of %d events processed after 120s", done, len(ids))
		}
	}
	out.applied = float64(len(subs)) / time.Since(start).Seconds()
	return out, nil
}

// bareInserts writes, per subscription and in one transaction, the rows an
// applied event leaves: the event row (processed), the subscription's
// update, its transition, and two job rows (the webhook job and the
// notify job; on a queue no worker reads) — plain statements, no HTTP, no
// signature, no River.
func bareInserts(ctx context.Context, db *sqlx.DB, subs []sub, workers int) (float64, error) {
	type ev struct {
		id      string
		payload []byte
	}
	evs := make([]ev, len(subs))
	for i, s := range subs {
		evs[i].id, evs[i].payload, _ = event("evt_bare_", s)
	}
	var next atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(evs) {
					return
				}
				s := subs[i]
				err := pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO payment.webhook_events (provider, event_id, type, created, payload, processed_at, outcome)
						VALUES ('sandbox', $1, 'customer.subscription.updated', now(), $2, now(), 'applied')`, evs[i].id, evs[i].payload); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, `UPDATE payment.subscriptions SET status = 'active', provider_subscription_id = $2,
						provider_customer_id = $3, current_period_start = now(), current_period_end = now() + interval '1 month', last_event_at = now(), updated_at = now()
						WHERE id = $1`, s.ID, "sub_bench_"+strings.ReplaceAll(s.ID, "-", ""), "cus_bench_"+strings.ReplaceAll(s.Account, "-", "")); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, `INSERT INTO payment.transitions (subscription_id, from_status, to_status, cause, event_id, at)
						VALUES ($1, 'incomplete', 'active', 'event:customer.subscription.updated', $2, now())`, s.ID, evs[i].id); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, `INSERT INTO river.river_job (args, kind, max_attempts, queue, state)
						VALUES ($1, 'paymentbench.webhook', 25, 'paymentbench', 'available'), ($2, 'paymentbench.notify', 25, 'paymentbench', 'available')`,
						fmt.Sprintf(`{"provider":"sandbox","event_id":%q}`, evs[i].id),
						fmt.Sprintf(`{"notification":"subscription_started","user_id":%q,"dedup_key":"subscription_started:%s:"}`, s.Account, s.ID))
					return err
				})
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, fmt.Errorf("bare inserts: %w", err)
	}
	return float64(len(subs)) / time.Since(start).Seconds(), nil
}

// webhookCheck counts the end-to-end events applied and the notify jobs
// they inserted.
func webhookCheck(ctx context.Context, db *sqlx.DB) (applied, jobs int, err error) {
	if err = db.GetContext(ctx, &applied, `SELECT count(*) FROM payment.webhook_events w JOIN payment.transitions t ON t.event_id = w.event_id AND t.to_status = 'active'
		WHERE w.event_id LIKE 'evt_hook_%' AND w.outcome = 'applied'`); err != nil {
		return
	}
	err = db.GetContext(ctx, &jobs, `SELECT count(*) FROM river.river_job WHERE queue <> 'paymentbench' AND kind = 'notify.email' AND args->>'notification' = 'subscription_started'`)
	return
}
