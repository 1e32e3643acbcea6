package notify

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Mailer delivers one email. Implementations: SMTPMailer (production) and
// DirMailer (development: .eml files in a directory).
type Mailer interface {
	// Send delivers m. An error wrapping *PermanentError means retrying
	// cannot help (the server refused the recipient, say); any other error
	// is temporary and the delivery is retried later.
	Send(ctx context.Context, m *Message) error
}

// Message is one email, ready to send.
type Message struct {
	// MessageID is the Message-ID header's value without angle brackets,
	// such as "k3j2...@streamflix.local". Required: a retried delivery
	// reuses it, so that receivers can recognise a duplicate.
	MessageID string
	From      mail.Address
	To        mail.Address
	Subject   string
	// Text and HTML are the two bodies, sent as multipart/alternative.
	Text, HTML string
	// Date is the Date header (default: now).
	Date time.Time
	// ListUnsubscribe is the unsubscribe URL for non-essential mail. When
	// set, the List-Unsubscribe header is added; an https URL also gets
	// RFC 8058's List-Unsubscribe-Post one-click header. Empty: neither.
	ListUnsubscribe string
}

// PermanentError is a delivery failure that retrying will not fix, such as
// an SMTP 5xx reply to RCPT TO (550 mailbox unavailable).
type PermanentError struct{ Err error }

// Error returns the underlying error's text.
func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err carries a *PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// buildMsg turns m into a go-mail message with every header set: From, To,
// Subject, Date, Message-ID, MIME-Version, Auto-Submitted and, when asked,
// List-Unsubscribe. Bodies are encoded with enc (quoted-printable for SMTP,
// which any server takes; 8bit for files, which people read).
func buildMsg(m *Message, enc gomail.Encoding) (*gomail.Msg, error) {
	if m.MessageID == "" {
		return nil, errors.New("message has no Message-ID")
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent(), gomail.WithEncoding(enc))
	if err := msg.FromFormat(m.From.Name, m.From.Address); err != nil {
		return nil, &PermanentError{fmt.Errorf("from address: %w", err)}
	}
	if err := msg.AddToFormat(m.To.Name, m.To.Address); err != nil {
		return nil, &PermanentError{fmt.Errorf("to address: %w", err)}
	}
	msg.Subject(m.Subject)
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	msg.SetDateWithValue(date)
	msg.SetMessageIDWithValue(m.MessageID)
	// RFC 3834: this mail is automatic, so out-of-office replies stay away.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	if u := strings.TrimSpace(m.ListUnsubscribe); u != "" {
		if strings.HasPrefix(u, "https://") {
			if err := msg.SetListUnsubscribeOneClick(u); err != nil {
				return nil, &PermanentError{err}
			}
		} else {
			msg.SetListUnsubscribe(u)
		}
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg, nil
}

// newMessageID returns a random Message-ID value in domain.
func newMessageID(domain string) string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:])) + "@" + domain
}

// addressDomain returns the domain of an address ("no-reply@a.b" → "a.b").
func addressDomain(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}
