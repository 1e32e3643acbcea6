package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/streamflix/streamflix/internal/platform/pgtest"
)

// heldSMTP is an SMTP server that, while slow, holds every message at DATA
// until it turns fast, and then refuses it: a mail server too slow to
// answer before the instance sending to it dies. It records the recipients
// of the messages it took once fast.
type heldSMTP struct {
	addr string
	fast chan struct{} // closed: stop holding

	mu   sync.Mutex
	held int             // messages that reached DATA while slow
	got  map[string]bool // recipients of messages taken once fast
}

func newHeldSMTP(t *testing.T) *heldSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &heldSMTP{addr: ln.Addr().String(), fast: make(chan struct{}), got: map[string]bool{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &heldSession{h: h}, nil }))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return h
}

func (h *heldSMTP) heldCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held
}

func (h *heldSMTP) received(addr string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got[addr]
}

type heldSession struct {
	h  *heldSMTP
	to []string
}

func (s *heldSession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *heldSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *heldSession) Data(r io.Reader) error {
	select {
	case <-s.h.fast:
	default:
		s.h.mu.Lock()
		s.h.held++
		s.h.mu.Unlock()
		<-s.h.fast
		// Its sender died meanwhile: the message may be whole in the
		// socket's buffer, but no one hears the answer.
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Held too long"}
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	for _, to := range s.to {
		s.h.got[to] = true
	}
	return nil
}

func (s *heldSession) Reset() { s.to = nil }

func (s *heldSession) Logout() error { return nil }

// TestCrashedInstanceJobsRescued: ten people sign up while the SMTP server
// is slow, and the instance sending their verification emails is killed
// (SIGKILL) in the middle of sending. The jobs it was working stay
// "running" with no live instance; a new instance runs them again as soon
// as their time limit and the rescue window have passed, and every one of
// the ten gets their email.
func TestCrashedInstanceJobsRescued(t *testing.T) {
	t.Parallel()
	db, dbURL := pgtest.NewDBURL(t)
	mail := newHeldSMTP(t)
	_, port, _ := net.SplitHostPort(mail.addr)
	// SMTP_TIMEOUT bounds each SMTP command, and an email job may run 3
	// times it: 30 s here, room for the ten sign-ups before the first
	// held message times out. JOB_RESCUE_AFTER is the test's short window.
	settings := []string{"DATABASE_URL=" + dbURL, "SMTP_HOST=127.0.0.1", "SMTP_PORT=" + port, "SMTP_TLS=none",
		"SMTP_TIMEOUT=10s", "JOB_RESCUE_AFTER=3s"}
	first, base, logs := serveBinary(t, settings...)

	api := newClient(t, base)
	var addrs []string
	for i := range 10 {
		addr := fmt.Sprintf("crash-%d@example.com", i)
		api.do("POST", "/api/v1/accounts", map[string]any{"email": addr, "password": goodPassword, "name": "Ada"}).
			want("sign up "+addr, http.StatusCreated, "")
		addrs = append(addrs, addr)
	}
	for deadline := time.Now().Add(20 * time.Second); mail.heldCount() < len(addrs); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d verification emails reached the SMTP server within 20s; logs:\n%s", mail.heldCount(), len(addrs), logs)
		}
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	var running int
	if err := db.Get(&running, `SELECT count(*) FROM river.river_job WHERE kind = 'notify.email' AND state = 'running'`); err != nil {
		t.Fatal(err)
	}
	if running == 0 {
		t.Fatal("no email job was left running by the killed instance")
	}
	close(mail.fast) // the server recovers

	_, _, logs = serveBinary(t, settings...)
	// The jobs' own limit (30 s) and River's rescuer, which the leader
	// runs every 30 s once the dead leader's term (15 s) is over, bound
	// the wait.
	deadline := time.Now().Add(2 * time.Minute)
	for _, addr := range addrs {
		for !mail.received(addr) {
			if time.Now().After(deadline) {
				var jobs []string
				_ = db.Select(&jobs, `SELECT state::text || ' attempt ' || attempt FROM river.river_job WHERE kind = 'notify.email' ORDER BY id`)
				t.Fatalf("no verification email to %s within 2 minutes of the restart; jobs %v; logs:\n%s", addr, jobs, logs)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Each job is recorded completed shortly after its email went.
	var rescued, left int
	for {
		if err := db.Get(&left, `SELECT count(*) FROM river.river_job WHERE kind = 'notify.email' AND state <> 'completed'`); err != nil {
			t.Fatal(err)
		}
		if left == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := db.Get(&rescued, `SELECT count(*) FROM river.river_job WHERE kind = 'notify.email' AND state = 'completed'
		AND errors::text LIKE '%Stuck job rescued%'`); err != nil {
		t.Fatal(err)
	}
	if left != 0 || rescued != running {
		t.Errorf("%d email jobs not completed; %d completed after River's rescuer retried them, want the %d the killed instance left running",
			left, rescued, running)
	}
}
