package notify_test

import (
	"context"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/notify"
	"github.com/streamflix/streamflix/internal/platform/pgtest"
	"github.com/streamflix/streamflix/internal/platform/queue"
)

func testMessage(id string) *notify.Message {
	return &notify.Message{
		MessageID: id + "@streamflix.test",
		From:      mail.Address{Name: "streamflix", Address: "no-reply@streamflix.test"},
		To:        mail.Address{Name: "Zoë Ünicode", Address: "zoe@example.com"},
		Subject:   "Grüße from streamflix",
		Text:      "plain body with a link https://streamflix.test/x?a=1&b=2\n",
		HTML:      `<p>html body <a href="https://streamflix.test/x?a=1&amp;b=2">link</a></p>`,
	}
}

func TestSMTPMailer(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := selfSigned(t)

	for _, tc := range []struct {
		name     string
		mode     string
		implicit bool
		auth     bool
	}{
		{name: "None", mode: notify.TLSNone},
		{name: "NoneAuth", mode: notify.TLSNone, auth: true}, // PLAIN in clear, allowed to localhost only
		{name: "StartTLSAuth", mode: notify.TLSStartTLS, auth: true},
		{name: "ImplicitTLSAuth", mode: notify.TLSImplicit, implicit: true, auth: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSMTPServer(t)
			if tc.mode != notify.TLSNone {
				s.tlsConfig = serverTLS
			}
			s.implicitTLS = tc.implicit
			if tc.auth {
				s.user, s.pass = "mailer", "s3cret"
			}
			s.start()
			cfg := notify.SMTPConfig{Host: "127.0.0.1", Port: s.port(), TLS: tc.mode, Timeout: 5 * time.Second, TLSConfig: clientTLS}
			if tc.auth {
				cfg.Username, cfg.Password = "mailer", "s3cret"
			}
			m, err := notify.NewSMTPMailer(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if err := m.Send(context.Background(), testMessage("mode-"+tc.name)); err != nil {
				t.Fatal(err)
			}
			if err := m.Send(context.Background(), testMessage("again-"+tc.name)); err != nil {
				t.Fatal(err)
			}
			if n := s.connections(); n != 1 {
				t.Errorf("%d connections for two messages, want 1 (reused)", n)
			}
			got := s.waitMessages(2)[0]
			e := parseEmail(t, got.Data)
			if e.Subject != "Grüße from streamflix" || e.Header.Get("Message-Id") != "<mode-"+tc.name+"@streamflix.test>" {
				t.Errorf("subject %q, Message-ID %q", e.Subject, e.Header.Get("Message-Id"))
			}
			to, err := e.Header.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Name != "Zoë Ünicode" || to[0].Address != "zoe@example.com" {
				t.Errorf("To %q: %v", e.Header.Get("To"), err)
			}
			if !strings.Contains(e.Text, "https://streamflix.test/x?a=1&b=2") || !strings.Contains(e.HTML, `href="https://streamflix.test/x?a=1&amp;b=2"`) {
				t.Errorf("bodies changed in transit:\n%s\n%s", e.Text, e.HTML)
			}
		})
	}

	t.Run("WrongPasswordIsTemporary", func(t *testing.T) {
		t.Parallel()
		s := newSMTPServer(t)
		s.user, s.pass = "mailer", "s3cret"
		s.start()
		m := s.mailer(t, notify.SMTPConfig{TLS: notify.TLSNone, Username: "mailer", Password: "wrong"})
		err := m.Send(context.Background(), testMessage("auth"))
		if err == nil || notify.IsPermanent(err) {
			t.Errorf("err = %v, want a temporary error (the configuration can be fixed)", err)
		}
	})

	t.Run("StartTLSRequired", func(t *testing.T) {
		t.Parallel()
		s := newSMTPServer(t) // offers no STARTTLS
		s.start()
		m := s.mailer(t, notify.SMTPConfig{TLS: notify.TLSStartTLS})
		if err := m.Send(context.Background(), testMessage("plain")); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Errorf("err = %v, want a refusal to send without STARTTLS", err)
		}
		if n := len(s.messages()); n != 0 {
			t.Errorf("%d messages sent in clear", n)
		}
	})

	t.Run("Rejected550IsPermanent", func(t *testing.T) {
		t.Parallel()
		s := newSMTPServer(t)
		s.rejectRcpt["zoe@example.com"] = true
		s.start()
		m := s.mailer(t, notify.SMTPConfig{TLS: notify.TLSNone})
		if err := m.Send(context.Background(), testMessage("rejected")); !notify.IsPermanent(err) || !strings.Contains(err.Error(), "550") {
			t.Errorf("err = %v, want permanent 550", err)
		}
	})

	t.Run("ServerRestartedWhileIdle", func(t *testing.T) {
		t.Parallel()
		s := newSMTPServer(t)
		s.start()
		m := s.mailer(t, notify.SMTPConfig{TLS: notify.TLSNone, Timeout: 5 * time.Second})
		if err := m.Send(context.Background(), testMessage("before")); err != nil {
			t.Fatal(err)
		}
		// The kept connection dies with the server; the next message
		// notices at MAIL FROM and goes over a new one, once.
		s.stop()
		s.start()
		if err := m.Send(context.Background(), testMessage("after")); err != nil {
			t.Fatalf("send after the restart: %v", err)
		}
		s.waitMessages(2)
		quiet()
		if msgs := s.messages(); len(msgs) != 2 || !strings.Contains(string(msgs[1].Data), "<after@streamflix.test>") {
			t.Errorf("server got %d messages, want before and after once each", len(msgs))
		}
		if n := s.connections(); n != 2 {
			t.Errorf("%d connections, want 2", n)
		}
	})

	t.Run("RejectionThenReuse", func(t *testing.T) {
		t.Parallel()
		s := newSMTPServer(t)
		s.rejectRcpt["gone@example.com"] = true
		s.start()
		m := s.mailer(t, notify.SMTPConfig{TLS: notify.TLSNone})
		if err := m.Send(context.Background(), testMessage("ok-1")); err != nil {
			t.Fatal(err)
		}
		bad := testMessage("bad")
		bad.To.Address = "gone@example.com"
		if err := m.Send(context.Background(), bad); !notify.IsPermanent(err) {
			t.Errorf("err = %v, want permanent 550", err)
		}
		if err := m.Send(context.Background(), testMessage("ok-2")); err != nil {
			t.Fatalf("send after a rejection: %v", err)
		}
		if msgs := s.waitMessages(2); len(msgs) != 2 {
			t.Errorf("%d messages, want 2", len(msgs))
		}
	})

	t.Run("ConcurrentSends", func(t *testing.T) {
		t.Parallel()
		s := newSMTPServer(t)
		s.start()
		m := s.mailer(t, notify.SMTPConfig{TLS: notify.TLSNone, MaxIdle: 4})
		defer m.Close()
		errs := make(chan error, 40)
		for round := range 5 {
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- m.Send(context.Background(), testMessage(fmt.Sprintf("c-%d-%d", round, i)))
				}()
			}
			wg.Wait()
		}
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if msgs := s.waitMessages(40); len(msgs) != 40 {
			t.Errorf("%d messages, want 40", len(msgs))
		}
		// At most 8 at once, and 4 kept between rounds: far fewer
		// connections than messages.
		if n := s.connections(); n > 8+4*4 {
			t.Errorf("%d connections for 40 messages in 5 rounds of 8, want at most 24", n)
		}
	})

	t.Run("BadTLSMode", func(t *testing.T) {
		t.Parallel()
		if _, err := notify.NewSMTPMailer(notify.SMTPConfig{Host: "localhost", TLS: "ssl"}); err == nil {
			t.Error("accepted TLS mode ssl")
		}
	})
}

func TestDirMailerSend(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m, err := notify.NewDirMailer(dir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	msg := testMessage("dir")
	msg.ListUnsubscribe = "https://streamflix.test/api/v1/unsubscribe?token=abc"
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("files %q, want one .eml", files)
	}
	if fi, err := os.Stat(files[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v (%v), want 0600: it holds sign-in links", fi.Mode(), err)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	e := parseEmail(t, raw)
	if e.Header.Get("List-Unsubscribe") != "<https://streamflix.test/api/v1/unsubscribe?token=abc>" || e.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe %q, List-Unsubscribe-Post %q", e.Header.Get("List-Unsubscribe"), e.Header.Get("List-Unsubscribe-Post"))
	}
	if e.Subject != "Grüße from streamflix" || !strings.Contains(e.Text, "plain body") || !strings.Contains(e.HTML, "html body") {
		t.Errorf("subject %q, text %q, html %q", e.Subject, e.Text, e.HTML)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	rcpt := notify.RecipientsFunc(func(context.Context, string) (notify.Recipient, error) { return notify.Recipient{}, nil })
	for name, tc := range map[string]struct {
		cfg  notify.Config
		want string
	}{
		"TLS":      {notify.Config{SMTPHost: "smtp.example.com", SMTPTLS: "ssl"}, "SMTP_TLS"},
		"Port":     {notify.Config{SMTPHost: "smtp.example.com", SMTPPort: 70000}, "SMTP_PORT"},
		"Password": {notify.Config{SMTPHost: "smtp.example.com", SMTPPassword: "x"}, "SMTP_USERNAME"},
		"From":     {notify.Config{From: "streamflix"}, "MAIL_FROM"},
		"URL":      {notify.Config{PublicURL: "streamflix.test"}, "PUBLIC_URL"},
	} {
		_, err := notify.New(tc.cfg, notify.Deps{DB: db, Recipients: rcpt, Queue: &queue.Deferred{}, Log: zerolog.Nop()})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming %s", name, err, tc.want)
		}
	}
}

func TestKinds(t *testing.T) {
	t.Parallel()
	want := []notify.Kind{notify.AccountDeleted, notify.EmailChange, notify.EmailVerification, notify.NewSignIn, notify.PasswordChanged, notify.PasswordReset}
	got := slices.DeleteFunc(notify.Kinds(), isBillingKind) // checked in kind_payment_test.go
	// new_content is the one kind a user can turn off.
	if len(got) > 3 && got[3] == notify.NewContent {
		if notify.NewContent.Essential() || !notify.NewContent.Valid() {
			t.Errorf("new_content: essential %v, valid %v", notify.NewContent.Essential(), notify.NewContent.Valid())
		}
		got = append(got[:3:3], got[4:]...)
	}
	if len(got) != len(want) {
		t.Fatalf("Kinds() = %v, want %v", got, want)
	}
	for i, k := range want {
		if got[i] != k || !k.Valid() {
			t.Errorf("Kinds()[%d] = %q, want %q", i, got[i], k)
		}
		// Account and security mail: a user cannot turn it off.
		if !k.Essential() {
			t.Errorf("%s is not essential", k)
		}
	}
	if notify.Kind("welcome").Valid() || notify.Kind("welcome").Essential() {
		t.Error("an unknown kind is valid or essential")
	}
}

// mailer is an SMTPMailer of cfg sending to s.
func (s *smtpServer) mailer(t *testing.T, cfg notify.SMTPConfig) *notify.SMTPMailer {
	t.Helper()
	cfg.Host, cfg.Port = "127.0.0.1", s.port()
	m, err := notify.NewSMTPMailer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
