package notify_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/notify"
	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/pg"
	"github.com/streamflix/streamflix/internal/platform/pgtest"
	"github.com/streamflix/streamflix/internal/platform/queue"
	"github.com/streamflix/streamflix/internal/platform/queue/queuetest"
)

const (
	testFrom   = "streamflix <no-reply@streamflix.test>"
	testDomain = "streamflix.test"
	aliceID    = "user-alice"
	aliceEmail = "alice@example.com"
	verifyLink = "https://streamflix.test/verify?token=tok_123"
)

type testBundle struct {
	db    *sqlx.DB
	dbURL string
	smtp  *smtpServer
	svc   *notify.Service
	// queue is the svc's Deps.Queue, set by the start* methods.
	queue *queue.Deferred

	mu    sync.Mutex
	users map[string]notify.Recipient
}

type setupOpts struct {
	// smtpDown leaves the SMTP server stopped (its port reserved).
	smtpDown bool
	// config edits the service's config before New.
	config func(*notify.Config)
}

// setup gives a test a migrated database, a running loopback SMTP server,
// a service pointed at it and a user, alice. Call one of the start* methods
// to run River.
func setup(t *testing.T, opts ...setupOpts) *testBundle {
	t.Helper()
	var o setupOpts
	if len(opts) > 0 {
		o = opts[0]
	}
	db, url := pgtest.NewDBURL(t)
	b := &testBundle{
		db: db, dbURL: url, smtp: newSMTPServer(t),
		users: map[string]notify.Recipient{aliceID: {Email: aliceEmail, Name: "Alice", Locale: "en"}},
	}
	if o.smtpDown {
		b.smtp.reserve()
	} else {
		b.smtp.start()
	}
	cfg := notify.Config{
		SMTPHost: "127.0.0.1", SMTPPort: b.smtp.port(), SMTPTLS: "none", SMTPTimeout: 5 * time.Second,
		From: testFrom, PublicURL: "https://streamflix.test",
	}
	if o.config != nil {
		o.config(&cfg)
	}
	b.queue = &queue.Deferred{}
	svc, err := notify.New(cfg, notify.Deps{DB: db, Recipients: notify.RecipientsFunc(b.recipient), Queue: b.queue, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	b.svc = svc
	return b
}

func (b *testBundle) recipient(_ context.Context, userID string) (notify.Recipient, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.users[userID]
	if !ok {
		return notify.Recipient{}, apperr.ErrNotFound
	}
	return r, nil
}

func (b *testBundle) workers() *river.Workers {
	w := river.NewWorkers()
	b.svc.Module("test").Workers(w)
	return w
}

// setupWorking is setup with a queue that works notify's jobs.
func setupWorking(t *testing.T) *testBundle {
	t.Helper()
	b := setup(t)
	b.startQueue(t, true)
	return b
}

// startQueue runs River the way streamflix does (queue.New), with
// notify's queue as its Module describes it; work false builds an
// insert-only client, as on an instance without workers.
func (b *testBundle) startQueue(t *testing.T, work bool) *queue.Queue {
	t.Helper()
	return b.startQueueWith(t, queue.Config{Work: work})
}

// startQueueWith is startQueue with more settings.
func (b *testBundle) startQueueWith(t *testing.T, cfg queue.Config) *queue.Queue {
	t.Helper()
	mod := b.svc.Module("test")
	cfg.DatabaseURL, cfg.Workers, cfg.Queues = b.dbURL, b.workers(), []queue.Spec{mod.Queue}
	q := queuetest.Start(t, b.db, cfg)
	b.queue.Set(q)
	return q
}

// fixedRetry retries every failed job after the same delay.
type fixedRetry time.Duration

func (d fixedRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(time.Duration(d)) }

// startRetryClient runs River with workers, retrying failed jobs after
// delay instead of River's attempt⁴ seconds.
func (b *testBundle) startRetryClient(t *testing.T, delay time.Duration) *queue.Queue {
	t.Helper()
	return b.startQueueWith(t, queue.Config{Work: true, RetryPolicy: fixedRetry(delay)})
}

// enqueue asks for r in a transaction that commits.
func (b *testBundle) enqueue(t *testing.T, r notify.Request) {
	t.Helper()
	err := pg.InTx(context.Background(), b.db, func(tx *sqlx.Tx) error {
		return b.svc.EnqueueTx(context.Background(), tx, r)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func verifyRequest() notify.Request {
	return notify.Request{Kind: notify.EmailVerification, UserID: aliceID, Data: map[string]string{"link": verifyLink}}
}

type jobRow struct {
	ID      int64          `db:"id"`
	State   string         `db:"state"`
	Attempt int            `db:"attempt"`
	Errors  pq.StringArray `db:"errors"`
}

func (b *testBundle) jobs(t *testing.T) []jobRow {
	t.Helper()
	var out []jobRow
	err := b.db.Select(&out, `SELECT id, state, attempt, coalesce(errors::text[], '{}') AS errors FROM river.river_job WHERE kind = 'notify.email' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitJob waits until the only notify.email job satisfies ok.
func (b *testBundle) waitJob(t *testing.T, what string, ok func(jobRow) bool) jobRow {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		jobs := b.jobs(t)
		if len(jobs) == 1 && ok(jobs[0]) {
			return jobs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no job %s within 20s; jobs: %+v", what, jobs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type deliveryRow struct {
	JobID     int64          `db:"job_id"`
	Kind      string         `db:"kind"`
	UserID    sql.NullString `db:"user_id"`
	ToAddress string         `db:"to_address"`
	Subject   string         `db:"subject"`
	MessageID string         `db:"message_id"`
	Status    string         `db:"status"`
	Attempts  int            `db:"attempts"`
	Error     sql.NullString `db:"error"`
	SentAt    sql.NullTime   `db:"sent_at"`
}

func (b *testBundle) deliveries(t *testing.T) []deliveryRow {
	t.Helper()
	var out []deliveryRow
	err := b.db.Select(&out, `SELECT job_id, kind, user_id, to_address, subject, message_id, status, attempts, error, sent_at FROM notify.deliveries ORDER BY created_at`)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (b *testBundle) onlyDelivery(t *testing.T) deliveryRow {
	t.Helper()
	d := b.deliveries(t)
	if len(d) != 1 {
		t.Fatalf("notify.deliveries holds %d rows, want 1: %+v", len(d), d)
	}
	return d[0]
}

// email is a received message taken apart.
type email struct {
	Header  mail.Header
	Subject string
	Type    string // media type of the body
	Text    string
	HTML    string
}

func parseEmail(t *testing.T, raw []byte) email {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse email: %v\n%s", err, raw)
	}
	e := email{Header: m.Header}
	if e.Subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	e.Type = mt
	if !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("Content-Type is %s, want multipart/alternative", mt)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = p // quoted-printable is decoded by the reader
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			r = base64.NewDecoder(base64.StdEncoding, p)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		text := strings.ReplaceAll(string(body), "\r\n", "\n")
		switch pt {
		case "text/plain":
			e.Text = text
		case "text/html":
			e.HTML = text
		default:
			t.Errorf("unexpected part %s", pt)
		}
	}
	return e
}

// quiet waits a little, for anything that should not happen to have a
// chance to happen.
func quiet() { time.Sleep(500 * time.Millisecond) }

// waitState waits until the only notify.email job is in state.
func (b *testBundle) waitState(t *testing.T, state string) jobRow {
	t.Helper()
	return b.waitJob(t, state, func(j jobRow) bool { return j.State == state })
}

// wantSent fails unless, once quiet, n messages went out and n deliveries
// were recorded.
func (b *testBundle) wantSent(t *testing.T, n int) {
	t.Helper()
	quiet()
	if got := len(b.smtp.messages()); got != n {
		t.Errorf("%d messages, want %d", got, n)
	}
	if got := len(b.deliveries(t)); got != n {
		t.Errorf("%d deliveries, want %d", got, n)
	}
}

func TestEnqueueTx(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setupWorking(t)
		b.enqueue(t, verifyRequest())

		msgs := b.smtp.waitMessages(1)
		got := msgs[0]
		if got.From != "no-reply@streamflix.test" {
			t.Errorf("envelope from %q, want no-reply@streamflix.test", got.From)
		}
		if len(got.To) != 1 || got.To[0] != aliceEmail {
			t.Errorf("envelope to %q, want [%s]", got.To, aliceEmail)
		}
		e := parseEmail(t, got.Data)
		if from := e.Header.Get("From"); from != `"streamflix" <no-reply@streamflix.test>` {
			t.Errorf("From: %q", from)
		}
		if to := e.Header.Get("To"); to != `"Alice" <alice@example.com>` {
			t.Errorf("To: %q", to)
		}
		if e.Subject != "Verify your email address" {
			t.Errorf("Subject: %q", e.Subject)
		}
		if e.Type != "multipart/alternative" {
			t.Errorf("Content-Type: %s, want multipart/alternative", e.Type)
		}
		for name, body := range map[string]string{"text": e.Text, "html": e.HTML} {
			if !strings.Contains(body, verifyLink) {
				t.Errorf("%s body lacks the link %s:\n%s", name, verifyLink, body)
			}
			if !strings.Contains(body, "Hi Alice,") {
				t.Errorf("%s body does not greet Alice:\n%s", name, body)
			}
		}
		if !strings.Contains(e.HTML, `<a href="`+verifyLink+`"`) {
			t.Errorf("html body has no link to %s", verifyLink)
		}
		msgID := e.Header.Get("Message-Id")
		if !strings.HasPrefix(msgID, "<") || !strings.HasSuffix(msgID, "@"+testDomain+">") {
			t.Errorf("Message-ID %q, want <...@%s>", msgID, testDomain)
		}
		date, err := e.Header.Date()
		if err != nil || time.Since(date) > time.Minute {
			t.Errorf("Date %q: %v", e.Header.Get("Date"), err)
		}
		if e.Header.Get("Auto-Submitted") != "auto-generated" {
			t.Errorf("Auto-Submitted: %q", e.Header.Get("Auto-Submitted"))
		}
		if e.Header.Get("List-Unsubscribe") != "" {
			t.Errorf("essential mail has List-Unsubscribe %q", e.Header.Get("List-Unsubscribe"))
		}

		job := b.waitState(t, "completed")
		d := b.onlyDelivery(t)
		if d.Status != "sent" || !d.SentAt.Valid || d.Attempts != 1 || d.JobID != job.ID {
			t.Errorf("delivery %+v, want sent once by job %d", d, job.ID)
		}
		if "<"+d.MessageID+">" != msgID || d.ToAddress != aliceEmail || d.Subject != e.Subject || d.Kind != "email_verification" || d.UserID.String != aliceID {
			t.Errorf("delivery %+v does not match the email (Message-ID %s)", d, msgID)
		}
	})

	t.Run("ManyAtOnce", func(t *testing.T) {
		t.Parallel()
		// Jobs running together share their delivery statements; each
		// email still goes out once, to its own recipient, and is recorded.
		b := setup(t)
		const n = 40
		b.mu.Lock()
		for i := range n {
			b.users[fmt.Sprintf("user-%02d", i)] = notify.Recipient{Email: fmt.Sprintf("u%02d@example.com", i), Name: "U", Locale: "en"}
		}
		b.mu.Unlock()
		b.startQueue(t, false)
		for i := range n {
			b.enqueue(t, notify.Request{Kind: notify.PasswordChanged, UserID: fmt.Sprintf("user-%02d", i)})
		}
		b.startQueue(t, true) // a backlog: the workers take up to 10 at once
		b.smtp.waitMessages(n)
		quiet()
		msgs := b.smtp.messages()
		if len(msgs) != n {
			t.Fatalf("%d messages, want %d", len(msgs), n)
		}
		byID := map[string]string{}
		for _, m := range msgs {
			byID[parseEmail(t, m.Data).Header.Get("Message-Id")] = m.To[0]
		}
		ds := b.deliveries(t)
		if len(ds) != n {
			t.Fatalf("%d deliveries, want %d", len(ds), n)
		}
		for _, d := range ds {
			if d.Status != "sent" || d.Attempts != 1 || byID["<"+d.MessageID+">"] != d.ToAddress ||
				d.ToAddress != strings.Replace(d.UserID.String, "user-", "u", 1)+"@example.com" {
				t.Errorf("delivery %+v: want sent once to its user, under its Message-ID", d)
			}
		}
	})

	t.Run("RolledBack", func(t *testing.T) {
		t.Parallel()
		b := setupWorking(t)
		ctx := context.Background()
		tx, err := b.db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.svc.EnqueueTx(ctx, tx, verifyRequest()); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		quiet()
		if n := len(b.smtp.messages()); n != 0 {
			t.Errorf("%d messages sent for a rolled-back transaction", n)
		}
		if jobs := b.jobs(t); len(jobs) != 0 {
			t.Errorf("jobs exist after rollback: %+v", jobs)
		}
		if d := b.deliveries(t); len(d) != 0 {
			t.Errorf("deliveries exist after rollback: %+v", d)
		}
	})

	t.Run("DedupKey", func(t *testing.T) {
		t.Parallel()
		b := setupWorking(t)
		r := verifyRequest()
		r.DedupKey = "verify:tok_123"
		b.enqueue(t, r)
		b.enqueue(t, r) // a retried request
		b.smtp.waitMessages(1)
		b.waitState(t, "completed")
		// The same key for another kind is another notification.
		b.enqueue(t, notify.Request{Kind: notify.PasswordChanged, UserID: aliceID, DedupKey: r.DedupKey})
		b.smtp.waitMessages(2)
		b.wantSent(t, 2) // one a kind
	})

	t.Run("DedupKeyAfterJobCleanup", func(t *testing.T) {
		t.Parallel()
		b := setupWorking(t)
		r := verifyRequest()
		r.DedupKey = "verify:tok_456"
		b.enqueue(t, r)
		b.smtp.waitMessages(1)
		b.waitState(t, "completed")
		// River forgets finished jobs after a day; notify.deliveries does not.
		if _, err := b.db.Exec(`DELETE FROM river.river_job`); err != nil {
			t.Fatal(err)
		}
		b.enqueue(t, r)
		b.waitState(t, "completed")
		b.wantSent(t, 1)
	})

	t.Run("ToOverride", func(t *testing.T) {
		t.Parallel()
		b := setupWorking(t)
		link := "https://streamflix.test/confirm-email?token=tok_789"
		b.enqueue(t, notify.Request{Kind: notify.EmailChange, UserID: aliceID, To: "alice.new@example.org", Data: map[string]string{"link": link}})
		got := b.smtp.waitMessages(1)[0]
		if len(got.To) != 1 || got.To[0] != "alice.new@example.org" {
			t.Errorf("envelope to %q, want the new address", got.To)
		}
		e := parseEmail(t, got.Data)
		if to := e.Header.Get("To"); to != `"Alice" <alice.new@example.org>` {
			t.Errorf("To: %q", to)
		}
		if !strings.Contains(e.Text, link) || !strings.Contains(e.HTML, link) {
			t.Error("bodies lack the link")
		}
	})

	t.Run("AccountDeleted", func(t *testing.T) {
		t.Parallel()
		b := setupWorking(t)
		// The user is gone by the time the job runs.
		b.enqueue(t, notify.Request{Kind: notify.AccountDeleted, UserID: "user-gone", To: "gone@example.com"})
		got := b.smtp.waitMessages(1)[0]
		if len(got.To) != 1 || got.To[0] != "gone@example.com" {
			t.Errorf("envelope to %q", got.To)
		}
		e := parseEmail(t, got.Data)
		if e.Subject != "Your streamflix account has been deleted" || !strings.Contains(e.Text, "Hi,\n") {
			t.Errorf("subject %q, text:\n%s", e.Subject, e.Text)
		}
	})

	t.Run("NewSignIn", func(t *testing.T) {
		t.Parallel()
		b := setupWorking(t)
		b.enqueue(t, notify.Request{Kind: notify.NewSignIn, UserID: aliceID, Data: map[string]string{
			"device": "Firefox on Linux <script>", "ip": "203.0.113.7", "time": "Wed, 25 Nov 2026 10:15:00 UTC",
		}})
		e := parseEmail(t, b.smtp.waitMessages(1)[0].Data)
		for _, want := range []string{"Firefox on Linux <script>", "203.0.113.7", "Wed, 25 Nov 2026 10:15:00 UTC"} {
			if !strings.Contains(e.Text, want) {
				t.Errorf("text lacks %q", want)
			}
		}
		if strings.Contains(e.HTML, "<script>") || !strings.Contains(e.HTML, "Firefox on Linux &lt;script&gt;") {
			t.Error("html body does not escape the device name")
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.startQueue(t, false)
		for name, tc := range map[string]struct {
			r    notify.Request
			want error
		}{
			"UnknownKind":  {notify.Request{Kind: "welcome", UserID: aliceID}, notify.ErrUnknownKind},
			"NoRecipient":  {notify.Request{Kind: notify.PasswordChanged}, notify.ErrInvalidRequest},
			"BadTo":        {notify.Request{Kind: notify.AccountDeleted, To: "not an address"}, notify.ErrInvalidRequest},
			"MissingField": {notify.Request{Kind: notify.PasswordReset, UserID: aliceID, Data: map[string]string{"link": verifyLink}}, notify.ErrInvalidRequest},
			"EmptyField":   {notify.Request{Kind: notify.EmailVerification, UserID: aliceID, Data: map[string]string{"link": " "}}, notify.ErrInvalidRequest},
			"UnknownField": {notify.Request{Kind: notify.EmailVerification, UserID: aliceID, Data: map[string]string{"link": verifyLink, "lnk": "x"}}, notify.ErrInvalidRequest},
			"LinkNotURL":   {notify.Request{Kind: notify.EmailVerification, UserID: aliceID, Data: map[string]string{"link": "javascript:alert(1)"}}, notify.ErrInvalidRequest},
			"LongDedupKey": {notify.Request{Kind: notify.PasswordChanged, UserID: aliceID, DedupKey: strings.Repeat("k", 201)}, notify.ErrInvalidRequest},
		} {
			err := pg.InTx(context.Background(), b.db, func(tx *sqlx.Tx) error {
				return b.svc.EnqueueTx(context.Background(), tx, tc.r)
			})
			if !errors.Is(err, tc.want) || apperr.KindOf(err) != apperr.Invalid {
				t.Errorf("%s: err = %v, want %v (Invalid)", name, err, tc.want)
			}
		}
		if jobs := b.jobs(t); len(jobs) != 0 {
			t.Errorf("invalid requests inserted jobs: %+v", jobs)
		}
	})

	t.Run("NoQueue", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		err := pg.InTx(context.Background(), b.db, func(tx *sqlx.Tx) error {
			return b.svc.EnqueueTx(context.Background(), tx, verifyRequest())
		})
		if !errors.Is(err, queue.ErrNotStarted) {
			t.Errorf("err = %v, want queue.ErrNotStarted", err)
		}
		if b.svc.Module("v1").Health(context.Background()) == nil {
			t.Error("module healthy without a queue")
		}
		b.startQueue(t, false)
		if err := b.svc.Module("v1").Health(context.Background()); err != nil {
			t.Errorf("health: %v", err)
		}
	})
}

func TestDeliveryFailures(t *testing.T) {
	t.Parallel()

	t.Run("Rejected550", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.smtp.rejectRcpt[aliceEmail] = true
		b.startRetryClient(t, 100*time.Millisecond)
		b.enqueue(t, verifyRequest())

		job := b.waitState(t, "cancelled")
		quiet()
		job = b.jobs(t)[0]
		if job.State != "cancelled" || job.Attempt != 1 || len(job.Errors) != 1 || !strings.Contains(job.Errors[0], "550") {
			t.Errorf("job %+v, want cancelled after 1 attempt with the 550", job)
		}
		d := b.onlyDelivery(t)
		if d.Status != "failed" || !strings.Contains(d.Error.String, "550") || d.Attempts != 1 || d.ToAddress != aliceEmail {
			t.Errorf("delivery %+v, want failed with the 550", d)
		}
		if n := len(b.smtp.messages()); n != 0 {
			t.Errorf("%d messages", n)
		}
	})

	t.Run("TempFail451", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.smtp.tempFailRcpt = 2
		b.startRetryClient(t, 100*time.Millisecond)
		b.enqueue(t, verifyRequest())

		b.smtp.waitMessages(1)
		job := b.waitState(t, "completed")
		if job.Attempt != 3 || len(job.Errors) != 2 || !strings.Contains(job.Errors[0], "451") {
			t.Errorf("job %+v, want completed on attempt 3 after two 451s", job)
		}
		d := b.onlyDelivery(t)
		if d.Status != "sent" || d.Attempts != 3 || d.Error.Valid {
			t.Errorf("delivery %+v, want sent on attempt 3", d)
		}
		quiet()
		if n := len(b.smtp.messages()); n != 1 {
			t.Errorf("%d messages, want 1", n)
		}
	})

	t.Run("ServerDown", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{smtpDown: true})
		// Longer than River's 5s scheduler interval, so the job waits in
		// the retryable state.
		b.startRetryClient(t, 6*time.Second)
		b.enqueue(t, verifyRequest())

		job := b.waitState(t, "retryable")
		if job.Attempt != 1 || len(job.Errors) != 1 || !strings.Contains(job.Errors[0], "connection refused") {
			t.Errorf("job %+v, want retryable after 1 refused connection", job)
		}
		d := b.onlyDelivery(t)
		if d.Status != "sending" || !strings.Contains(d.Error.String, "connection refused") {
			t.Errorf("delivery %+v, want sending with the error", d)
		}

		b.smtp.start()
		b.smtp.waitMessages(1)
		job = b.waitState(t, "completed")
		if job.Attempt != 2 {
			t.Errorf("job %+v, want completed on attempt 2", job)
		}
		if d := b.onlyDelivery(t); d.Status != "sent" || d.Attempts != 2 {
			t.Errorf("delivery %+v, want sent on attempt 2", d)
		}
	})

	t.Run("OutOfAttempts", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{smtpDown: true})
		b.startRetryClient(t, 50*time.Millisecond)
		b.enqueue(t, verifyRequest())
		job := b.waitState(t, "discarded")
		if job.Attempt != notify.EmailMaxAttempts {
			t.Errorf("job %+v, want discarded after %d attempts (notify's limit, not the queue's)", job, notify.EmailMaxAttempts)
		}
		d := b.onlyDelivery(t)
		if d.Status != "failed" || d.Attempts != notify.EmailMaxAttempts || !strings.Contains(d.Error.String, "gave up after 10 attempts") {
			t.Errorf("delivery %+v, want failed after %d attempts", d, notify.EmailMaxAttempts)
		}
	})

	t.Run("UnknownUser", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.startRetryClient(t, 100*time.Millisecond)
		b.enqueue(t, notify.Request{Kind: notify.PasswordChanged, UserID: "user-nobody"})
		job := b.waitState(t, "cancelled")
		if job.Attempt != 1 {
			t.Errorf("job %+v, want cancelled on attempt 1", job)
		}
		if d := b.onlyDelivery(t); d.Status != "failed" || !strings.Contains(d.Error.String, "not_found") {
			t.Errorf("delivery %+v, want failed: not found", d)
		}
	})
}

// TestCrash covers the process dying around the send.
func TestCrash(t *testing.T) {
	t.Parallel()

	t.Run("AfterCommitBeforeSend", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.startQueue(t, false) // inserts, works nothing: the process "dies" after the commit
		b.enqueue(t, verifyRequest())
		quiet()
		if n := len(b.smtp.messages()); n != 0 {
			t.Fatalf("%d messages before any worker ran", n)
		}
		if jobs := b.jobs(t); len(jobs) != 1 || jobs[0].State != "available" {
			t.Fatalf("jobs %+v, want one available", jobs)
		}
		b.startQueue(t, true) // the restart
		b.smtp.waitMessages(1)
		b.waitState(t, "completed")
		quiet()
		if n := len(b.smtp.messages()); n != 1 {
			t.Errorf("%d messages, want exactly 1", n)
		}
	})

	t.Run("AfterSendRecorded", func(t *testing.T) {
		t.Parallel()
		// The email went out and was recorded, but the job ran again (a
		// crash before River marked it completed, or an operator's retry).
		b := setup(t)
		q := b.startQueue(t, true)
		b.enqueue(t, verifyRequest())
		b.smtp.waitMessages(1)
		job := b.waitState(t, "completed")
		if _, err := q.JobRetry(context.Background(), job.ID); err != nil {
			t.Fatal(err)
		}
		b.waitJob(t, "completed again", func(j jobRow) bool { return j.State == "completed" && j.Attempt == 2 })
		quiet()
		if n := len(b.smtp.messages()); n != 1 {
			t.Errorf("%d messages, want 1", n)
		}
		if d := b.onlyDelivery(t); d.Attempts != 1 || d.Status != "sent" {
			t.Errorf("delivery %+v, want sent after 1 attempt", d)
		}
	})

	t.Run("AfterSendNotRecorded", func(t *testing.T) {
		t.Parallel()
		// The process died between the server's 250 and recording it: the
		// run after the restart sends again (SMTP is at-least-once), with
		// the same Message-ID so that receivers can tell.
		b := setup(t)
		q := b.startQueue(t, true)
		b.enqueue(t, verifyRequest())
		b.smtp.waitMessages(1)
		job := b.waitState(t, "completed")
		if _, err := b.db.Exec(`UPDATE notify.deliveries SET status = 'sending', sent_at = NULL`); err != nil {
			t.Fatal(err)
		}
		if _, err := q.JobRetry(context.Background(), job.ID); err != nil {
			t.Fatal(err)
		}
		msgs := b.smtp.waitMessages(2)
		first, second := parseEmail(t, msgs[0].Data), parseEmail(t, msgs[1].Data)
		if first.Header.Get("Message-Id") != second.Header.Get("Message-Id") {
			t.Errorf("resent with another Message-ID: %s, then %s", first.Header.Get("Message-Id"), second.Header.Get("Message-Id"))
		}
		b.waitJob(t, "completed again", func(j jobRow) bool { return j.State == "completed" && j.Attempt == 2 })
		if d := b.onlyDelivery(t); d.Status != "sent" || d.Attempts != 2 {
			t.Errorf("delivery %+v, want sent on attempt 2", d)
		}
	})
}

func TestDirMailer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() + "/mail"
	b := setup(t, setupOpts{config: func(c *notify.Config) { c.SMTPHost, c.MailDir = "", dir }})
	b.startQueue(t, true)
	link := "https://streamflix.test/reset?token=tok_dir"
	b.enqueue(t, notify.Request{Kind: notify.PasswordReset, UserID: aliceID, Data: map[string]string{"link": link, "expires_in": "1 hour"}})

	var files []os.DirEntry
	deadline := time.Now().Add(20 * time.Second)
	for len(files) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		entries, _ := os.ReadDir(dir)
		files = nil
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".eml") && !strings.HasPrefix(e.Name(), ".") {
				files = append(files, e)
			}
		}
	}
	if len(files) != 1 {
		t.Fatalf("%d .eml files in %s, want 1", len(files), dir)
	}
	if !strings.Contains(files[0].Name(), aliceEmail) {
		t.Errorf("file name %q does not name the recipient", files[0].Name())
	}
	raw, err := os.ReadFile(dir + "/" + files[0].Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(link)) {
		t.Errorf("the file does not hold the link as is (to copy it out of the file):\n%s", raw)
	}
	e := parseEmail(t, raw)
	if e.Subject != "Reset your streamflix password" || e.Header.Get("To") != `"Alice" <alice@example.com>` {
		t.Errorf("subject %q, to %q", e.Subject, e.Header.Get("To"))
	}
	if !strings.Contains(e.Text, link) || !strings.Contains(e.HTML, link) || !strings.Contains(e.Text, "expires in 1 hour") {
		t.Errorf("bodies lack the link or expiry:\n%s", e.Text)
	}
	if e.Header.Get("Message-Id") == "" || e.Header.Get("Date") == "" {
		t.Error("Message-ID or Date missing")
	}
	if len(b.smtp.messages()) != 0 {
		t.Error("mail went to the SMTP server too")
	}
	b.waitState(t, "completed")
	if d := b.onlyDelivery(t); d.Status != "sent" {
		t.Errorf("delivery %+v", d)
	}
}

// templateFS copies the embedded templates (as on disk) into a map that a
// test can break.
func templateFS(t *testing.T) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	root := os.DirFS("templates")
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		out[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNewTemplates(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	newWith := func(fsys fs.FS) error {
		_, err := notify.New(notify.Config{Templates: fsys, MailDir: t.TempDir()}, notify.Deps{DB: db, Recipients: notify.RecipientsFunc(func(context.Context, string) (notify.Recipient, error) {
			return notify.Recipient{}, nil
		}), Queue: &queue.Deferred{}, Log: zerolog.Nop()})
		return err
	}

	if err := newWith(templateFS(t)); err != nil {
		t.Fatalf("the shipped templates: %v", err)
	}

	for name, tc := range map[string]struct {
		edit func(fstest.MapFS)
		want []string // in the error
	}{
		"UndeclaredField": {func(m fstest.MapFS) {
			m["en/password_reset.html"] = &fstest.MapFile{Data: []byte(`<a href="{{.link}}">reset</a> within {{.expires_in}}, {{.nonexistent}}`)}
		}, []string{`"password_reset"`, `"nonexistent"`}},
		"RequiredFieldUnused": {func(m fstest.MapFS) {
			m["en/password_reset.txt"] = &fstest.MapFile{Data: []byte(`Reset: {{.link}}`)}
		}, []string{`"password_reset"`, `"expires_in"`, "en/password_reset.txt"}},
		"UndeclaredFieldInSubject": {func(m fstest.MapFS) {
			m["en/new_sign_in.subject"] = &fstest.MapFile{Data: []byte(`Sign-in from {{.city}}`)}
		}, []string{`"new_sign_in"`, `"city"`}},
		"FileMissing": {func(m fstest.MapFS) {
			delete(m, "en/new_sign_in.html")
		}, []string{`"new_sign_in"`, "en/new_sign_in.html"}},
		"KindMissing": {func(m fstest.MapFS) {
			delete(m, "en/account_deleted.html")
			delete(m, "en/account_deleted.txt")
			delete(m, "en/account_deleted.subject")
		}, []string{`"account_deleted"`, "no templates"}},
		"UnknownKind": {func(m fstest.MapFS) {
			m["en/welcome.txt"] = &fstest.MapFile{Data: []byte(`Hello`)}
		}, []string{`"welcome"`}},
		"ParseError": {func(m fstest.MapFS) {
			m["en/email_verification.html"] = &fstest.MapFile{Data: []byte(`<a href="{{.link">`)}
		}, []string{`"email_verification"`, "en/email_verification.html"}},
	} {
		m := templateFS(t)
		tc.edit(m)
		err := newWith(m)
		if err == nil {
			t.Errorf("%s: New succeeded", name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %s", name, err, w)
			}
		}
	}
}

func TestLocale(t *testing.T) {
	t.Parallel()
	m := templateFS(t)
	m["de/password_changed.subject"] = &fstest.MapFile{Data: []byte(`Dein streamflix-Passwort wurde geändert`)}
	m["de/password_changed.txt"] = &fstest.MapFile{Data: []byte("Dein Passwort wurde geändert.\n")}
	m["de/password_changed.html"] = &fstest.MapFile{Data: []byte(`<p>Dein Passwort wurde geändert.</p>`)}
	b := setup(t, setupOpts{config: func(c *notify.Config) { c.Templates = m }})
	b.users["user-bob"] = notify.Recipient{Email: "bob@example.de", Name: "Bob", Locale: "de_AT"}
	b.startQueue(t, true)

	b.enqueue(t, notify.Request{Kind: notify.PasswordChanged, UserID: "user-bob"})
	e := parseEmail(t, b.smtp.waitMessages(1)[0].Data)
	if e.Subject != "Dein streamflix-Passwort wurde geändert" || !strings.Contains(e.Text, "Dein Passwort wurde geändert.") {
		t.Errorf("de_AT got subject %q, text:\n%s", e.Subject, e.Text)
	}
	// A kind without German templates falls back to English.
	b.enqueue(t, notify.Request{Kind: notify.EmailVerification, UserID: "user-bob", Data: map[string]string{"link": verifyLink}})
	e = parseEmail(t, b.smtp.waitMessages(2)[1].Data)
	if e.Subject != "Verify your email address" {
		t.Errorf("fallback subject %q", e.Subject)
	}
}
