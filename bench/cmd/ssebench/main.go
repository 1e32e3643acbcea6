// Command ssebench measures live inbox delivery for `make bench`: the
// latency from the commit of one in-app notification per user, all in one
// transaction (a new season announced to everyone, say), to each of the
// users' connected Server-Sent Event streams receiving it, with -clients
// real HTTP clients spread over the running streamflix instances at -urls
// and -users users, every user's connections on different instances when
// there are more clients than users. Next to it, from the same commits: the
// latency of Postgres NOTIFY itself to a plain LISTEN connection in this
// process, the floor under any instance's delivery.
//
// It needs DATABASE_URL of the instances' database. It signs users in
// without passwords: it opens sessions in auth.sessions and signs access
// tokens with the instances' own keys (internal/auth/token), and turns the
// users' new_content email off (notify's preferences API) so that only the
// inbox is measured. Everything it creates is deleted at the end. It
// prints results only; nothing is asserted.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/auth/token"
	"github.com/streamflix/streamflix/internal/notify"
	"github.com/streamflix/streamflix/internal/platform/pg"
	"github.com/streamflix/streamflix/internal/platform/queue"
)

func main() {
	var o options
	urls := flag.String("urls", "", "comma-separated base URLs of the running instances, e.g. http://127.0.0.1:8081,http://127.0.0.1:8082")
	flag.IntVar(&o.clients, "clients", 1000, "SSE connections")
	flag.IntVar(&o.users, "users", 500, "users they belong to (each gets one notification a round)")
	flag.IntVar(&o.rounds, "rounds", 5, "notifications per user, one round at a time")
	flag.Parse()
	for _, u := range strings.Split(*urls, ",") {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			o.urls = append(o.urls, u)
		}
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "ssebench:", err)
		os.Exit(1)
	}
}

type options struct {
	urls                   []string
	clients, users, rounds int
}

// client is one live stream.
type client struct {
	user     int
	instance int
	events   chan time.Time // when each notification event arrived
}

func run(o options) error {
	if len(o.urls) == 0 {
		return errors.New("-urls is empty")
	}
	if o.users < 1 || o.clients < o.users {
		return errors.New("need at least one user and at least as many clients as users")
	}
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		return errors.New("DATABASE_URL is not set")
	}
	if err := raiseFileLimit(o.clients + 100); err != nil {
		return err
	}
	ctx := context.Background()
	db, err := pg.Open(ctx, pg.Options{URL: dbURL, MaxOpenConns: 10, MaxIdleConns: 10})
	if err != nil {
		return err
	}
	defer db.Close()

	ins, err := queue.New(ctx, db, queue.Config{DatabaseURL: dbURL, Logger: zerolog.Nop()})
	if err != nil {
		return err
	}
	defer func() { _ = ins.Stop(ctx) }()
	svc, err := notify.New(notify.Config{}, notify.Deps{DB: db, Mailer: noMail{}, Queue: ins, Log: zerolog.Nop(),
		Recipients: notify.RecipientsFunc(func(context.Context, string) (notify.Recipient, error) { return notify.Recipient{}, nil })})
	if err != nil {
		return err
	}

	users := make([]string, o.users)
	for i := range users {
		users[i] = uuid.NewString()
	}
	defer cleanup(db, users)
	toks, err := signIn(ctx, db, users, o.clients)
	if err != nil {
		return err
	}
	off := false
	for _, u := range users {
		if _, err := svc.UpdatePreferences(ctx, u, notify.PreferencesUpdate{Items: []notify.PreferenceChange{{Kind: notify.NewContent, Email: &off}}}); err != nil {
			return err
		}
	}

	// Postgres NOTIFY alone: a LISTEN connection in this process.
	lconn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer lconn.Close(ctx)
	if _, err := lconn.Exec(ctx, "LISTEN notify_inbox"); err != nil {
		return err
	}
	notified := make(chan time.Time, o.users*2)
	lctx, stopListen := context.WithCancel(ctx)
	defer stopListen()
	go func() {
		for {
			if _, err := lconn.WaitForNotification(lctx); err != nil {
				return
			}
			notified <- time.Now()
		}
	}()

	clients, stop, err := connect(o, toks)
	defer stop()
	if err != nil {
		return err
	}
	perInstance := make([]int, len(o.urls))
	for _, c := range clients {
		perInstance[c.instance]++
	}

	var lat, pgLat []time.Duration
	for r := range o.rounds {
		tx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			return err
		}
		for _, u := range users {
			err := svc.EnqueueTx(ctx, tx, notify.Request{Kind: notify.NewContent, UserID: u,
				Data: map[string]string{"title": fmt.Sprintf("Bench, season %d", r+1), "link": "https://bench.example/titles/1"}})
			if err != nil {
				_ = tx.Rollback()
				return err
			}
		}
		// The clock starts as COMMIT is sent: Postgres may hand the
		// notifications to listeners before the bench sees its answer.
		committed := time.Now()
		if err := tx.Commit(); err != nil {
			return err
		}
		deadline := time.After(60 * time.Second)
		for _, c := range clients {
			select {
			case at := <-c.events:
				lat = append(lat, at.Sub(committed))
			case <-deadline:
				return fmt.Errorf("round %d: not every stream got its notification within 60s", r+1)
			}
		}
		for range users {
			select {
			case at := <-notified:
				pgLat = append(pgLat, at.Sub(committed))
			case <-deadline:
				return fmt.Errorf("round %d: the LISTEN connection missed notifications", r+1)
			}
		}
		time.Sleep(200 * time.Millisecond) // let the unread events and the database settle
	}

	fmt.Printf("notify: live inbox, %d SSE clients (%s) for %d users over %d instances, %d rounds of one notification per user in one transaction\n",
		o.clients, instanceList(perInstance), o.users, len(o.urls), o.rounds)
	fmt.Printf("  commit to each stream's event:      p50 %s  p99 %s  max %s\n", pct(lat, 50), pct(lat, 99), pct(lat, 100))
	fmt.Printf("  commit to Postgres NOTIFY (LISTEN): p50 %s  p99 %s  max %s  (the floor)\n", pct(pgLat, 50), pct(pgLat, 99), pct(pgLat, 100))
	return nil
}

// signIn opens a session per client (user u's clients are u, u+users, ...)
// and signs an access token for each, as a login would.
func signIn(ctx context.Context, db *sqlx.DB, users []string, clients int) ([]string, error) {
	tm, err := token.New(ctx, token.Config{DB: db, TTL: time.Hour})
	if err != nil {
		return nil, err
	}
	sessions := make([]string, clients)
	owners := make([]string, clients)
	for i := range sessions {
		sessions[i], owners[i] = uuid.NewString(), users[i%len(users)]
	}
	_, err = db.ExecContext(ctx, `INSERT INTO auth.sessions (id, user_id, device_name, device_kind, ip, user_agent)
		SELECT id, user_id, 'ssebench', 'other', '127.0.0.1', 'ssebench' FROM unnest($1::uuid[], $2::uuid[]) AS t(id, user_id)`,
		pq.StringArray(sessions), pq.StringArray(owners))
	if err != nil {
		return nil, fmt.Errorf("open sessions: %w", err)
	}
	toks := make([]string, clients)
	for i := range toks {
		if toks[i], _, err = tm.Issue(token.Claims{UserID: owners[i], SessionID: sessions[i]}); err != nil {
			return nil, err
		}
	}
	return toks, nil
}

// connect opens every stream and waits until each has had its first event
// (the unread count), so that it is subscribed.
func connect(o options, toks []string) ([]*client, func(), error) {
	ctx, cancel := context.WithCancel(context.Background())
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.clients, DisableCompression: true}}
	clients := make([]*client, o.clients)
	var wg sync.WaitGroup
	stop := func() {
		cancel()
		wg.Wait()
	}
	sem := make(chan struct{}, 50)
	errs := make(chan error, o.clients)
	var ready sync.WaitGroup
	var failed atomic.Bool
	for i := range clients {
		// User u's clients go round the instances, so that a user's phone
		// and laptop are usually on different ones.
		c := &client{user: i % o.users, instance: (i%o.users + i/o.users) % len(o.urls), events: make(chan time.Time, o.rounds+1)}
		clients[i] = c
		ready.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			first := true
			err := c.stream(ctx, hc, o.urls[c.instance], toks[i], func() {
				<-sem
				first = false
				ready.Done()
			})
			if first {
				<-sem
				ready.Done()
				if ctx.Err() == nil {
					failed.Store(true)
					errs <- err
				}
			}
		}()
	}
	ready.Wait()
	if failed.Load() {
		return nil, stop, fmt.Errorf("a stream failed to open: %w", <-errs)
	}
	return clients, stop, nil
}

// stream reads c's event stream until ctx ends, calling ready at the first
// event and recording the arrival of every notification event.
func (c *client) stream(ctx context.Context, hc *http.Client, base, tok string, ready func()) error {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/notifications/stream", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %d %s", base, resp.StatusCode, b)
	}
	br := bufio.NewReader(resp.Body)
	isReady := false
	event := ""
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			event = line[len("event: "):]
		case line == "" && event != "":
			if event == "notification" {
				c.events <- time.Now()
			}
			if !isReady {
				isReady = true
				ready()
			}
			event = ""
		}
	}
}

// cleanup deletes what the run made.
func cleanup(db *sqlx.DB, users []string) {
	ctx := context.Background()
	ids := pq.StringArray(users)
	for _, q := range []string{
		`DELETE FROM auth.sessions WHERE user_id = ANY($1::uuid[]) AND device_name = 'ssebench'`,
		`DELETE FROM notify.notifications WHERE user_id = ANY($1)`,
		`DELETE FROM notify.inbox_seq WHERE user_id = ANY($1)`,
		`DELETE FROM notify.preferences WHERE user_id = ANY($1)`,
	} {
		if _, err := db.ExecContext(ctx, q, ids); err != nil {
			fmt.Fprintln(os.Stderr, "ssebench: cleanup:", err)
		}
	}
}

// noMail is a mailer for a run that sends no email.
type noMail struct{}

func (noMail) Send(context.Context, *notify.Message) error {
	return errors.New("ssebench sends no email")
}

// raiseFileLimit lifts the soft limit on open files to at least n (up to
// the hard limit).
func raiseFileLimit(n int) error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	if l.Cur >= uint64(n) {
		return nil
	}
	l.Cur = min(max(uint64(n), l.Cur), l.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	if l.Cur < uint64(n) {
		return fmt.Errorf("open files limited to %d; %d clients need %d", l.Cur, n-100, n)
	}
	return nil
}

func pct(xs []time.Duration, p int) string {
	if len(xs) == 0 {
		return "-"
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	i = max(0, min(i, len(s)-1))
	return fmt.Sprintf("%7.1fms", float64(s[i])/float64(time.Millisecond))
}

func instanceList(n []int) string {
	parts := make([]string, len(n))
	for i, v := range n {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, " + ")
}
