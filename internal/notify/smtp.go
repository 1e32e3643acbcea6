package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	gomail "github.com/wneessen/go-mail"
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
}

// SMTPMailer sends email through an SMTP server, one connection a message.
type SMTPMailer struct {
	client *gomail.Client
}

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
	opts := []gomail.Option{gomail.WithTimeout(c.Timeout)}
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
	return &SMTPMailer{client: client}, nil
}

func portOr(p, def int) int {
	if p == 0 {
		return def
	}
	return p
}

// Send delivers m over a new SMTP connection. A 5xx reply to the message
// itself (MAIL FROM, RCPT TO, DATA) is a *PermanentError. Everything else
// is temporary: 4xx replies, connection refused, timeouts, and also 5xx
// replies while connecting or authenticating, which mean the configuration
// is wrong rather than the message, so retrying after a fix can succeed.
func (s *SMTPMailer) Send(ctx context.Context, m *Message) error {
	msg, err := buildMsg(m, gomail.EncodingQP)
	if err != nil {
		return err
	}
	err = s.client.DialAndSendWithContext(ctx, msg)
	if err == nil {
		return nil
	}
	if msg.IsDelivered() {
		// The server took the message; only RSET or QUIT afterwards failed.
		return nil
	}
	if permanentSMTP(err) {
		return &PermanentError{err}
	}
	return err
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
