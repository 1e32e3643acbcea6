// Command notifybench measures the email part of notify for `make bench`:
// emails per second through River (EnqueueTx, the notify.email worker,
// SMTPMailer) to a loopback SMTP server, next to a plain loop sending the
// same messages with the same SMTPMailer in the same run (target: River at
// 0.7 or more of the direct rate). It needs DATABASE_URL of a migrated
// database. It prints results only; nothing is asserted.
//
// Not measured yet: SSE fan-out latency to 1,000 clients.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/notify"
	"github.com/streamflix/streamflix/internal/platform/pg"
	"github.com/streamflix/streamflix/internal/platform/queue"
)

func main() {
	n := flag.Int("n", 500, "emails per measurement")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "notifybench:", err)
		os.Exit(1)
	}
}

// sink is a go-smtp backend that counts and discards messages.
type sink struct{ got atomic.Int64 }

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }

type session struct{ s *sink }

func (x *session) Mail(string, *smtp.MailOptions) error { return nil }
func (x *session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (x *session) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	x.s.got.Add(1)
	return err
}
func (x *session) Reset()        {}
func (x *session) Logout() error { return nil }

func run(n int) error {
	ctx := context.Background()
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		return errors.New("DATABASE_URL is not set")
	}
	db, err := pg.Open(ctx, pg.Options{URL: dbURL, MaxOpenConns: 20, MaxIdleConns: 10})
	if err != nil {
		return err
	}
	defer db.Close()

	sk := &sink{}
	srv := smtp.NewServer(sk)
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	mailer, err := notify.NewSMTPMailer(notify.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: notify.TLSNone, HELO: "bench"})
	if err != nil {
		return err
	}
	rcpt := notify.RecipientsFunc(func(_ context.Context, id string) (notify.Recipient, error) {
		return notify.Recipient{Email: id + "@bench.example", Name: "Bench", Locale: "en"}, nil
	})
	svc, err := notify.New(notify.Config{From: "streamflix <no-reply@bench.example>", PublicURL: "https://bench.example", Mailer: mailer},
		db, rcpt, zerolog.Nop())
	if err != nil {
		return err
	}

	// Direct: the same mailer, one message after another... and with the
	// worker pool's concurrency, for a fair comparison.
	const conc = 10
	msg := func(i int) *notify.Message {
		return &notify.Message{MessageID: fmt.Sprintf("bench-%d-%d@bench.example", time.Now().UnixNano(), i),
			From:    mail.Address{Name: "streamflix", Address: "no-reply@bench.example"},
			To:      mail.Address{Name: "Bench", Address: fmt.Sprintf("u%d@bench.example", i)},
			Subject: "Your streamflix password was changed", Text: "The password was changed.", HTML: "<p>The password was changed.</p>"}
	}
	start := time.Now()
	work := make(chan int)
	done := make(chan error, conc)
	for w := 0; w < conc; w++ {
		go func() {
			var first error
			for i := range work {
				if err := mailer.Send(ctx, msg(i)); err != nil && first == nil {
					first = err
				}
			}
			done <- first
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	for w := 0; w < conc; w++ {
		if err := <-done; err != nil {
			return fmt.Errorf("direct send: %w", err)
		}
	}
	direct := float64(n) / time.Since(start).Seconds()

	// Through River: enqueue n in transactions of 50, wait for the server.
	workers := river.NewWorkers()
	svc.Module("bench").Workers(workers)
	q, err := queue.New(ctx, db, queue.Config{DatabaseURL: dbURL, Queues: []string{notify.QueueName}, Concurrency: conc, Work: true,
		Workers: workers, Logger: zerolog.Nop(), FetchPollInterval: 200 * time.Millisecond})
	if err != nil {
		return err
	}
	svc.SetInserter(q)
	if err := q.Start(ctx); err != nil {
		return err
	}
	defer func() { _ = q.Stop(context.Background()) }()
	before := sk.got.Load()
	stamp := time.Now().UnixNano()
	start = time.Now()
	for i := 0; i < n; i += 50 {
		err := pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
			for j := i; j < i+50 && j < n; j++ {
				if err := svc.EnqueueTx(ctx, tx, notify.Request{Kind: notify.AccountDeleted, To: fmt.Sprintf("u%d@bench.example", j),
					DedupKey: fmt.Sprintf("bench-%d-%d", stamp, j)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	deadline := time.Now().Add(5 * time.Minute)
	for sk.got.Load()-before < int64(n) {
		if time.Now().After(deadline) {
			return fmt.Errorf("river: %d of %d emails after 5 minutes", sk.got.Load()-before, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	viaRiver := float64(n) / time.Since(start).Seconds()
	fmt.Printf("notify: %d emails to a loopback SMTP server, %d at a time\n", n, conc)
	fmt.Printf("  direct SMTPMailer loop: %8.0f emails/s\n", direct)
	fmt.Printf("  through River:          %8.0f emails/s (%.2f of direct; target >= 0.7)\n", viaRiver, viaRiver/direct)
	return nil
}
