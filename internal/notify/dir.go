package notify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"
	gomail "github.com/wneessen/go-mail"
)

// DirMailer writes each email as an .eml file (the exact bytes an SMTP
// server would receive) in a directory instead of sending it. streamflix
// uses it when no SMTP host is configured, so that developers can open
// verification and reset links. It logs file names, never bodies.
type DirMailer struct {
	dir string
	log zerolog.Logger
}

// NewDirMailer returns a mailer writing to dir, which it creates (mode
// 0700: the files hold sign-in links).
func NewDirMailer(dir string, log zerolog.Logger) (*DirMailer, error) {
	if dir == "" {
		return nil, fmt.Errorf("notify: mail directory is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("notify: mail directory: %w", err)
	}
	return &DirMailer{dir: dir, log: log}, nil
}

// Dir returns the directory the mailer writes to.
func (d *DirMailer) Dir() string { return d.dir }

// Send writes m to <dir>/<UTC time>_<recipient>_<id>.eml. The file appears
// complete or not at all. Errors (a full disk) are temporary.
func (d *DirMailer) Send(_ context.Context, m *Message) error {
	// 8bit bodies keep links as they are, for copying out of the file.
	msg, err := buildMsg(m, gomail.NoEncoding)
	if err != nil {
		return err
	}
	local, _, _ := strings.Cut(m.MessageID, "@")
	name := fmt.Sprintf("%s_%s_%s.eml", time.Now().UTC().Format("20060102T150405.000Z"), safeName(m.To.Address), safeName(local))
	f, err := os.CreateTemp(d.dir, ".tmp-*") // no .eml suffix: readers globbing *.eml never see it half-written
	if err != nil {
		return fmt.Errorf("write email: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op once renamed
	if _, err := msg.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("write email: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write email: %w", err)
	}
	final := filepath.Join(d.dir, name)
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("write email: %w", err)
	}
	d.log.Info().Str("file", final).Msg("email written to file (SMTP_HOST is not set)")
	return nil
}

// safeName keeps the characters of s that are safe in a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '@', r == '.', r == '-', r == '+':
			return r
		}
		return '_'
	}, s)
}
