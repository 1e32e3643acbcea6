package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/streamflix/streamflix/internal/platform/pgtest"
)

// TestHostileInput sends bytes Postgres cannot store (invalid UTF-8, NUL)
// in query, path and body strings, and headers over the limit, to
// representative routes: each answers problem+json 4xx (422 naming the
// parameter or field, 400 for a body that is not UTF-8 at all, 431), never
// 500 or plain text.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	a := start(t, env(dbURL, nil), nil)
	base := a.URL()

	for _, c := range []struct {
		name, method, path, token, body string
		status                          int
		code, field                     string
	}{
		{"QueryInvalidUTF8", "GET", "/api/v1/admin/jobs?queue=%FF", testAdminToken, "", 422, "validation_failed", "queue"},
		{"QueryNUL", "GET", "/api/v1/admin/jobs?kind=a%00b", testAdminToken, "", 422, "validation_failed", "kind"},
		{"QueryInvalidUTF8Anonymous", "GET", "/api/v1/search?q=%C3%28", "", "", 422, "validation_failed", "q"},
		{"QueryNULPublic", "GET", "/api/v1/unsubscribe?token=%00", "", "", 422, "validation_failed", "token"},
		{"PathInvalidUTF8", "GET", "/api/v1/titles/%FF%FE", "", "", 422, "validation_failed", "id"},
		{"PathNUL", "POST", "/api/v1/admin/jobs/1%00/retry", testAdminToken, "", 422, "validation_failed", "id"},
		{"BodyInvalidUTF8", "POST", "/api/v1/accounts", "", "{\"email\":\"a\xffb@example.com\",\"password\":\"a long enough password\"}", 400, "invalid_utf8", ""},
		{"BodyTruncatedUTF8", "POST", "/api/v1/auth/login", "", "{\"email\":\"a@example.com\",\"password\":\"x\",\"device\":{\"name\":\"TV \xe2\x82\",\"kind\":\"tv\"}}", 400, "invalid_utf8", ""},
		{"BodyNUL", "POST", "/api/v1/accounts", "", `{"email":"a\u0000b@example.com","password":"a long enough password"}`, 422, "validation_failed", "email"},
		{"BodyNULNested", "POST", "/api/v1/auth/login", "", `{"email":"a@example.com","password":"x","device":{"name":"TV\u0000","kind":"tv"}}`, 422, "validation_failed", "device.name"},
		{"NameBidiOverride", "POST", "/api/v1/admin/genres", testAdminToken, `{"slug":"drama","name":"Dra\u202ema"}`, 422, "validation_failed", "name"},
		{"NameLineBreak", "POST", "/api/v1/admin/people", testAdminToken, `{"name":"Ada\nLovelace"}`, 422, "validation_failed", "name"},
		// Only streaming attaches a video, when one is ready.
		{"VideoIDNotSettable", "POST", "/api/v1/admin/titles", testAdminToken, `{"kind":"movie","name":"X","maturity_rating":"G","video_id":"anything"}`, 422, "validation_failed", "video_id"},
		{"BodyNULAdmin", "POST", "/api/v1/admin/genres", testAdminToken, `{"slug":"drama","name":"Dra\u0000ma"}`, 422, "validation_failed", "name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = raw("application/json", []byte(c.body))
			}
			r := newClient(t, base).as(c.token).do(c.method, c.path, body)
			problemField(t, r.Response, r.body, c.status, c.code, c.field)
		})
	}

	t.Run("HeadersTooLarge", func(t *testing.T) {
		for _, path := range []string{"/api/v1/genres", "/healthz", "/"} {
			req, err := http.NewRequest("GET", base+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Padding", strings.Repeat("a", 100<<10))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			resp.Body.Close()
			problemField(t, resp, buf.Bytes(), http.StatusRequestHeaderFieldsTooLarge, "request_headers_too_large", "")
		}
	})

	t.Run("HeadersUnderLimit", func(t *testing.T) {
		req, err := http.NewRequest("GET", base+"/api/v1/genres", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Padding", strings.Repeat("a", 32<<10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("32 KiB of headers: status %d, want 200", resp.StatusCode)
		}
	})

	t.Run("RawPathBytes", func(t *testing.T) {
		// Bytes a client library would escape, sent as they are.
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write([]byte("GET /api/v1/search?q=\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("raw 0xFF in the query: status %d, want 4xx", resp.StatusCode)
		}
	})
}

// problemField asserts a problem+json answer with status, code and, when
// field is set, a field error naming it.
func problemField(t *testing.T, resp *http.Response, body []byte, status int, code, field string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json; body %s", ct, body)
		return
	}
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body: %v: %s", err, body)
	}
	if p.Code != code || p.Status != status {
		t.Errorf("problem %d %s, want %d %s; body %s", p.Status, p.Code, status, code, body)
	}
	if field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != field) {
		t.Errorf("field errors %+v, want one for %s", p.Errors, field)
	}
}
