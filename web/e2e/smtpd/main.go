// Command smtpd is the loopback SMTP server of the web app's end-to-end
// tests: streamflix sends its email to it over real SMTP, and it writes
// each message to a directory as N.eml (as received) and N.json (sender,
// recipients, subject and the decoded text and HTML bodies), for the tests
// to read the links in them.
//
// Usage: smtpd -dir DIR [-addr 127.0.0.1:0]; it prints "listening ADDR"
// once it accepts connections, and serves until stdin closes or it is
// signalled.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (loopback)")
	dir := flag.String("dir", "", "directory to write messages to (required)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "smtpd: -dir is required")
		os.Exit(2)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := smtp.NewServer(&backend{dir: *dir})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("listening %s\n", ln.Addr())

	// Stop when the test runner goes away (stdin closes) or signals.
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-done:
	case <-sig:
	}
	srv.Close()
}

type backend struct {
	dir string
	seq atomic.Int64
}

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

type session struct {
	b    *backend
	from string
	to   []string
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error   { s.to = append(s.to, to); return nil }
func (s *session) Reset()                                      { s.from, s.to = "", nil }
func (s *session) Logout() error                               { return nil }

// Message is what N.json holds.
type Message struct {
	From    string   `json:"from"`
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Text    string   `json:"text"`
	HTML    string   `json:"html"`
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: s.from, To: append([]string(nil), s.to...)}
	if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		dec := new(mime.WordDecoder)
		if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
			m.Subject = msg.Header.Get("Subject")
		}
		walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, &m)
	}
	n := s.b.seq.Add(1)
	base := filepath.Join(s.b.dir, fmt.Sprintf("%d-%d", time.Now().UnixMilli(), n))
	if err := os.WriteFile(base+".eml", raw, 0o644); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(m, "", "  ")
	// Written under a temporary name, then renamed: readers never see half a file.
	if err := os.WriteFile(base+".json.tmp", js, 0o644); err != nil {
		return err
	}
	return os.Rename(base+".json.tmp", base+".json")
}

// walk collects the text/plain and text/html parts of a MIME body.
func walk(ctype, encoding string, body io.Reader, m *Message) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) || err != nil {
				return
			}
			walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, m)
		}
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, _ := io.ReadAll(r)
	switch mt {
	case "text/plain":
		m.Text += string(b)
	case "text/html":
		m.HTML += string(b)
	}
}
