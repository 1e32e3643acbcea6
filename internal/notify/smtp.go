package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// TLS modes for SMTPConfig.TLS (SMTP_TLS).
const (
	TLSNone     = "none"     // plain text: only for a relay on localhost or a private network
	TLSStartTLS = "starttls" // STARTTLS, required (the default; port 587)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
)

// SMTPConfig configures an SMTPMailer. Zero values take the defaults in the
// comments.
type SMTPConfig struct {
	Host string
	// Port defaults to 587 for starttls, 465 for tls and 25 for none.
	Port int
	// Username and Password enable SMTP AUTH (PLAIN, else LOGIN, whichever
	// the server offers; neither is ever sent unencrypted except to
	// localhost). Empty Username: no authentication.
	Username, Password string
	// TLS is none, starttls (default) or tls.
	TLS string
	// Timeout bounds connecting and each SMTP command (default 30s).
	Timeout time.Duration
	// HELO is the name sent in EHLO (default: this machine's host name).
	HELO string
	// TLSConfig overrides the TLS settings (default: the system's roots,
	// server name Host, TLS 1.2 or later).
	TLSConfig *tls.Config
	// MaxIdle is how many open connections are kept for reuse between
	// messages (default 10; negative keeps none: a connection a message).
	MaxIdle int
	// IdleTimeout closes a connection unused this long (default 30s: well
	// under the 5 minutes servers must wait, RFC 5321 4.5.3.2).
	IdleTimeout time.Duration
	// MaxPerConn is how many messages one connection carries before it is
	// closed (default 100), as many servers limit it.
	MaxPerConn int
}

// SMTPMailer sends email through an SMTP server. It keeps the connections
// it opened and reuses them for later messages (at most MaxIdle idle ones,
// each for IdleTimeout and MaxPerConn messages), so that a message costs
// MAIL, RCPT and DATA rather than a new TCP connection, EHLO, STARTTLS and
// AUTH as well. It is safe for concurrent use: each Send has a connection
// to itself.
type SMTPMailer struct {
	client      *gomail.Client
	maxIdle     int
	idleTimeout time.Duration
	maxPerConn  int

	mu     sync.Mutex
	idle   []*smtpConn // most recently used last
	closed bool
	reaper *time.Timer // armed while idle connections exist
}

// smtpConn is one open SMTP session.
type smtpConn struct {
	c        *smtp.Client
	lastUsed time.Time
	sent     int
}

// Defaults of SMTPConfig's pool fields.
const (
	DefaultSMTPMaxIdle     = 10
	DefaultSMTPIdleTimeout = 30 * time.Second
	DefaultSMTPMaxPerConn  = 100
)

// NewSMTPMailer returns a mailer for the server in c. It does not connect.
func NewSMTPMailer(c SMTPConfig) (*SMTPMailer, error) {
	if c.Host == "" {
		return nil, errors.New("notify: SMTP host is empty")
	}
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MaxIdle == 0 {
		c.MaxIdle = DefaultSMTPMaxIdle
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultSMTPIdleTimeout
	}
	if c.MaxPerConn <= 0 {
		c.MaxPerConn = DefaultSMTPMaxPerConn
	}
	// A pooled connection is checked by its next MAIL FROM instead of a
	// NOOP before every message, and RSET is not needed after a message
	// (the end of DATA ends the transaction): two round trips fewer.
	opts := []gomail.Option{gomail.WithTimeout(c.Timeout), gomail.WithoutNoop(), gomail.WithoutRset()}
	switch c.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS), gomail.WithPort(portOr(c.Port, 25)))
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithPort(portOr(c.Port, 587)))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL(), gomail.WithPort(portOr(c.Port, 465)))
	default:
		return nil, fmt.Errorf("notify: SMTP TLS mode %q: want %s, %s or %s", c.TLS, TLSNone, TLSStartTLS, TLSImplicit)
	}
	if c.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(c.TLSConfig))
	}
	if c.HELO != "" {
		opts = append(opts, gomail.WithHELO(c.HELO))
	}
	if c.Username != "" {
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(c.Username), gomail.WithPassword(c.Password))
	}
	client, err := gomail.NewClient(c.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("notify: SMTP client: %w", err)
	}
	return &SMTPMailer{client: client, maxIdle: max(c.MaxIdle, 0), idleTimeout: c.IdleTimeout, maxPerConn: c.MaxPerConn}, nil
}

func portOr(p, def int) int {
	if p == 0 {
		return def
	}
	return p
}

// Send delivers m over an idle connection, or a new one. A 5xx reply to
// the message itself (MAIL FROM, RCPT TO, DATA) is a *PermanentError.
// Everything else is temporary: 4xx replies, connection refused, timeouts,
// and also 5xx replies while connecting or authenticating, which mean the
// configuration is wrong rather than the message, so retrying after a fix
// can succeed. When a reused connection turns out to be dead before the
// server has seen any of the message (the server timed it out, or answered
// 421), Send sends once more over a new connection. ctx bounds connecting;
// each SMTP command is bounded by SMTPConfig.Timeout.
func (s *SMTPMailer) Send(ctx context.Context, m *Message) error {
	msg, err := buildMsg(m, gomail.EncodingQP)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		conn, reused, err := s.get(ctx, attempt > 0)
		if err != nil {
			return fmt.Errorf("dial failed: %w", err)
		}
		err = s.client.SendWithSMTPClient(conn.c, msg)
		if err == nil {
			conn.sent++
			s.put(conn)
			return nil
		}
		// After an error the session's state is unknown: never reuse it.
		_ = conn.c.Close()
		if msg.IsDelivered() {
			return nil // the server took the message; only what came after failed
		}
		if reused && staleConn(err) {
			// The other idle connections are likely as dead (the server
			// restarted, say): drop them and try once more on a new one.
			s.closeIdle()
			continue
		}
		if permanentSMTP(err) {
			return &PermanentError{err}
		}
		return fmt.Errorf("send failed: %w", err)
	}
}

// get returns an idle connection that is still young enough, unless fresh
// is set, or dials a new one; reused says which.
func (s *SMTPMailer) get(ctx context.Context, fresh bool) (conn *smtpConn, reused bool, err error) {
	s.mu.Lock()
	for len(s.idle) > 0 && !fresh {
		conn = s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if time.Since(conn.lastUsed) < s.idleTimeout {
			s.mu.Unlock()
			return conn, true, nil
		}
		go s.quit(conn)
	}
	s.mu.Unlock()
	c, err := s.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return nil, false, err
	}
	return &smtpConn{c: c}, false, nil
}

// put returns conn to the idle connections, or closes it when there are
// enough of them, it has sent its share, or the mailer is closed.
func (s *SMTPMailer) put(conn *smtpConn) {
	conn.lastUsed = time.Now()
	s.mu.Lock()
	if s.closed || conn.sent >= s.maxPerConn || len(s.idle) >= s.maxIdle {
		s.mu.Unlock()
		go s.quit(conn)
		return
	}
	s.idle = append(s.idle, conn)
	if s.reaper == nil {
		s.reaper = time.AfterFunc(s.idleTimeout, s.reap)
	}
	s.mu.Unlock()
}

// reap closes the connections idle for IdleTimeout, so that they do not
// linger half-closed after the server has timed them out, and re-arms
// itself while idle connections remain.
func (s *SMTPMailer) reap() {
	s.mu.Lock()
	var old []*smtpConn
	keep := s.idle[:0]
	for _, conn := range s.idle { // oldest first
		if time.Since(conn.lastUsed) >= s.idleTimeout {
			old = append(old, conn)
		} else {
			keep = append(keep, conn)
		}
	}
	clear(s.idle[len(keep):])
	s.idle = keep
	s.reaper = nil
	if len(s.idle) > 0 && !s.closed {
		s.reaper = time.AfterFunc(s.idleTimeout-time.Since(s.idle[0].lastUsed), s.reap)
	}
	s.mu.Unlock()
	for _, conn := range old {
		s.quit(conn)
	}
}

// closeIdle closes every idle connection.
func (s *SMTPMailer) closeIdle() {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, conn := range idle {
		_ = conn.c.Close()
	}
}

// quit ends a healthy session politely.
func (s *SMTPMailer) quit(conn *smtpConn) {
	if err := conn.c.Quit(); err != nil {
		_ = conn.c.Close()
	}
}

// Close ends the idle sessions (QUIT) and makes Send close each connection
// after use. Sending after Close still works, without reuse.
func (s *SMTPMailer) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle, s.closed = nil, true
	if s.reaper != nil {
		s.reaper.Stop()
		s.reaper = nil
	}
	s.mu.Unlock()
	for _, conn := range idle {
		s.quit(conn)
	}
	return nil
}

// staleConn reports whether err shows a reused connection dead before the
// server saw any of the message: the connection check failed, or MAIL FROM
// got no reply at all (closed, reset) or 421 (the server is closing this
// session, RFC 5321 3.8). Sending again over a new connection cannot
// duplicate the message.
func staleConn(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case gomail.ErrConnCheck:
		return true
	case gomail.ErrSMTPMailFrom:
		code := se.ErrorCode()
		return code == 0 || code == 421
	}
	return false
}

// permanentSMTP reports whether err is the server refusing this message for
// good.
func permanentSMTP(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
		return true // the message itself cannot be sent as it is
	case gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
		code := se.ErrorCode()
		return code >= 500 && code < 600
	}
	return false
}
