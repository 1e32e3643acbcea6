package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/streamflix/streamflix/internal/platform/api"
)

// apiClient is the one HTTP client of this package's tests. It is built
// from an instance's URL and, with as, a bearer token:
//
//	admin := newClient(t, a.URL()).as(testAdminToken)
//	admin.do("POST", "/api/v1/admin/titles", map[string]any{"name": "X"}).
//		want("create title", http.StatusCreated, "").decode(&title)
//
// Every request it sends and every answer it reads passes through
// exchange. Only two kinds of test talk HTTP without it: openStream reads
// a Server-Sent Events stream that never ends, and TestSIGTERMLosesNoRequest
// counts connections refused and reset under load.
type apiClient struct {
	t     *testing.T
	base  string // put before a path that is not a full URL
	token string // sent as "Authorization: Bearer <token>" unless empty
}

// newClient returns a client of the instance at base, sending no token.
func newClient(t *testing.T, base string) apiClient {
	return apiClient{t: t, base: base}
}

// as returns the client sending token ("" for none).
func (c apiClient) as(token string) apiClient {
	c.token = token
	return c
}

// rawBody is a request body sent as it is, under its own content type.
type rawBody struct {
	contentType string
	data        []byte
	chunked     bool // sent without a length, as a stream of unknown size is
}

// raw returns data as a body of contentType ("" sends no Content-Type).
func raw(contentType string, data []byte) rawBody {
	return rawBody{contentType: contentType, data: data}
}

// option changes a request before it is sent.
type option func(*http.Request)

// header sets a request header; an empty value sends none.
func header(key, value string) option {
	return func(r *http.Request) {
		if value != "" {
			r.Header.Set(key, value)
		}
	}
}

// cookies sends the cookies' names and values.
func cookies(cs ...*http.Cookie) option {
	return func(r *http.Request) {
		for _, c := range cs {
			r.AddCookie(c)
		}
	}
}

// do sends a request and returns the whole answer; an error on the way
// fails the test. path is a path under the client's base or a full URL.
// body is nil (no body), a rawBody, or any other value, sent as JSON.
func (c apiClient) do(method, path string, body any, opts ...option) *apiResponse {
	c.t.Helper()
	r, err := c.send(method, path, body, opts...)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// send is do returning an error instead of failing the test, for polling
// an instance that is starting or stopping, and for other goroutines than
// the test's.
func (c apiClient) send(method, path string, body any, opts ...option) (*apiResponse, error) {
	url := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		url = c.base + path
	}
	var rb rawBody
	switch b := body.(type) {
	case nil:
	case rawBody:
		rb = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode body: %w", err)
		}
		rb = raw("application/json", data)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(rb.data)
		if rb.chunked {
			rd = struct{ io.Reader }{rd} // hides the length from http.NewRequest
		}
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if rb.contentType != "" {
		req.Header.Set("Content-Type", rb.contentType)
	}
	for _, o := range opts {
		o(req)
	}
	resp, respBody, err := exchange(c.t, req, rb.data)
	if err != nil {
		return nil, err
	}
	return &apiResponse{Response: resp, body: respBody, t: c.t, call: method + " " + path}, nil
}

// exchange sends req, whose body holds reqBody, and reads the whole answer.
// It is the one place where this package's tests meet a server: every
// request of apiClient comes through here, so checkExchange sees them all.
func exchange(t *testing.T, req *http.Request, reqBody []byte) (*http.Response, []byte, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("read answer: %w", err)
	}
	checkExchange(t, req, reqBody, resp, body)
	return resp, body, nil
}

// checkExchange is called with every complete exchange of the package's
// tests: the request sent with its body (nil when it had none) and the
// response received with its whole body. Exchanges with the API (paths
// under /api/v1/ and the platform routes the document lists) are held to
// the document the answering instance serves at /api/openapi.json: each
// response's status, content type and body, and the body of each request
// the server accepted. It may run on a goroutine other than the test's
// (TestGracefulStop's slow request), so it reports with t.Errorf only.
func checkExchange(t *testing.T, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	if !documented(req.URL.Path) {
		return
	}
	doc := servedDocOf(req.URL)
	if doc == nil {
		return // the instance is gone (a test stopping it): nothing to hold the answer to
	}
	checkAgainstDoc(t, doc, req, reqBody, resp, respBody)
}

// documented reports whether path is one the OpenAPI document covers:
// the API and the platform routes, not the web app, media or /metrics.
func documented(path string) bool {
	switch path {
	case "/healthz", "/readyz":
		return true
	case "/api/openapi.json", "/api/docs":
		return false
	}
	return strings.HasPrefix(path, "/api/v1/")
}

// docClient reads documents from another loopback address, 127.0.0.2,
// so that the read does not spend the test's own client address's rate
// limit (TestRateLimitAcrossInstances counts every request from 127.0.0.1).
var docClient = &http.Client{Transport: &http.Transport{
	DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext,
}}

var (
	docsMu sync.Mutex
	docs   = map[string][]byte{} // by scheme://host
)

// servedDocOf returns the document the server at u's host serves, read
// once per server, or nil when it cannot be read.
func servedDocOf(u *url.URL) []byte {
	base := u.Scheme + "://" + u.Host
	docsMu.Lock()
	defer docsMu.Unlock()
	if d, ok := docs[base]; ok {
		return d
	}
	resp, err := docClient.Get(base + "/api/openapi.json")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	d, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil
	}
	docs[base] = d
	return d
}

// apiResponse is an answer read to its end. Its Body is closed: the bytes
// are in body.
type apiResponse struct {
	*http.Response
	body []byte
	t    *testing.T
	call string // "METHOD path", for failure messages
}

// want fails the test unless the answer has status and, when code is not
// empty, is an application/problem+json document of that status and code.
func (r *apiResponse) want(what string, status int, code string) *apiResponse {
	r.t.Helper()
	if code == "" {
		if r.StatusCode != status {
			r.t.Fatalf("%s: %s: status %d, want %d; body %s", what, r.call, r.StatusCode, status, r.body)
		}
		return r
	}
	var p api.Problem
	_ = json.Unmarshal(r.body, &p)
	if ct := r.Header.Get("Content-Type"); r.StatusCode != status || p.Status != status || p.Code != code || ct != "application/problem+json" {
		r.t.Fatalf("%s: %s: %d %s %s, want %d %s as problem+json", what, r.call, r.StatusCode, ct, r.body, status, code)
	}
	return r
}

// decode decodes the JSON answer into out. A caller that wants the answer
// decoded wants a success: an error status fails the test rather than
// leaving out empty. An empty body (204) leaves out as it is.
func (r *apiResponse) decode(out any) *apiResponse {
	r.t.Helper()
	if r.StatusCode >= 400 {
		r.t.Fatalf("%s: status %d: %s", r.call, r.StatusCode, r.body)
	}
	if len(r.body) > 0 {
		if err := json.Unmarshal(r.body, out); err != nil {
			r.t.Fatalf("%s: decode %s: %v", r.call, r.body, err)
		}
	}
	return r
}

// json returns the answer as a JSON object, empty when it is not one.
func (r *apiResponse) json() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	return m
}
