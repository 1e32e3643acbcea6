package notify_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtpServer is a real SMTP server (emersion/go-smtp) on loopback that
// records what it receives. Set its fields before start.
type smtpServer struct {
	t    *testing.T
	addr string // host:port; fixed at the first start

	// Server behaviour.
	rejectRcpt   map[string]bool // answer 550 to RCPT TO these addresses
	tempFailRcpt int             // answer 451 to this many RCPT TO first
	tlsConfig    *tls.Config     // offer STARTTLS (or, with implicitTLS, speak TLS at once)
	implicitTLS  bool
	user, pass   string // require AUTH PLAIN with these

	mu       sync.Mutex
	msgs     []received
	rcptSeen int
	accepted int // connections
	srv      *smtp.Server
	ln       net.Listener
}

// received is one message as the server got it.
type received struct {
	From string
	To   []string
	Data []byte
}

func newSMTPServer(t *testing.T) *smtpServer {
	return &smtpServer{t: t, rejectRcpt: map[string]bool{}}
}

// reserve picks a free loopback port without listening on it, so that a
// test can point the mailer at a server that is down.
func (s *smtpServer) reserve() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	ln.Close()
}

func (s *smtpServer) port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, _ := net.LookupPort("tcp", p)
	return n
}

// start listens (on the reserved port, if any) and serves until stop or the
// end of the test.
func (s *smtpServer) start() {
	s.t.Helper()
	addr := s.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the reserved port may linger in TIME_WAIT
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("smtp listen: %v", err)
	}
	s.addr = ln.Addr().String()
	ln = countingListener{ln, s}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if s.implicitTLS {
		ln = tls.NewListener(ln, s.tlsConfig)
	} else {
		srv.TLSConfig = s.tlsConfig
	}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	s.t.Cleanup(s.stop)
}

func (s *smtpServer) stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// connections returns how many connections the server has accepted.
func (s *smtpServer) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	s *smtpServer
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.accepted++
		l.s.mu.Unlock()
	}
	return c, err
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

// waitMessages waits until the server holds at least n messages.
func (s *smtpServer) waitMessages(n int) []received {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := s.messages()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("SMTP server received %d messages within 20s, want %d", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type session struct {
	s      *smtpServer
	authed bool
	from   string
	to     []string
}

func (x *session) AuthMechanisms() []string {
	if x.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || x.s.user == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != x.s.user || pass != x.s.pass {
			return errors.New("invalid credentials")
		}
		x.authed = true
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.user != "" && !x.authed {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	x.s.rcptSeen++
	if x.s.tempFailRcpt > 0 {
		x.s.tempFailRcpt--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted, try again later"}
	}
	if x.s.rejectRcpt[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "Mailbox unavailable"}
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, received{From: x.from, To: append([]string(nil), x.to...), Data: b})
	x.s.mu.Unlock()
	return nil
}

func (x *session) Reset() { x.from, x.to = "", nil }

func (x *session) Logout() error { return nil }

// selfSigned returns a server TLS config for 127.0.0.1 and localhost, and a
// client config that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	return server, client
}
