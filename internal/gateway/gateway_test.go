package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/streamflix/streamflix/internal/gateway"
)

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestRequestID(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	tests := []struct {
		name     string
		incoming string
		echoed   bool
	}{
		{"Sane", "req-0123456789abcdef", true},
		{"SaneWithDotsAndColons", "trace:1.2_3-abc", true},
		{"Missing", "", false},
		{"TooShort", "abc", false},
		{"Spaces", "has some spaces in it", false},
		{"Newline", "abcdefgh\nX-Evil: 1", false},
		{"TooLong", strings.Repeat("a", 500), false},
		{"HTMLish", "<script>alert(1)</script>", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("GET", "/api/v1/no-such-route", nil)
			if tt.incoming != "" {
				req.Header["X-Request-Id"] = []string{tt.incoming}
			}
			rec := tb.serve(req)
			got := rec.Header().Get("X-Request-Id")
			if tt.echoed {
				if got != tt.incoming {
					t.Errorf("X-Request-Id = %q, want the incoming %q echoed", got, tt.incoming)
				}
			} else if !generatedID.MatchString(got) {
				t.Errorf("X-Request-Id = %q, want a generated 32-hex id", got)
			}
			p := wantProblem(t, rec, http.StatusNotFound, "route_not_found")
			if p.RequestID != got {
				t.Errorf("problem request_id = %q, header = %q", p.RequestID, got)
			}
		})
	}

	t.Run("GeneratedIDsDiffer", func(t *testing.T) {
		t.Parallel()
		a := tb.get("/healthz").Header().Get("X-Request-Id")
		b := tb.get("/healthz").Header().Get("X-Request-Id")
		if a == b {
			t.Errorf("two requests got the same generated id %q", a)
		}
	})
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	untrusted := setup(t, nil)
	trusted := setup(t, map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1"})
	tests := []struct {
		name   string
		tb     *testBundle
		remote string
		xff    []string
		want   string
	}{
		{"NoProxiesPeer", untrusted, "203.0.113.9:4242", nil, "203.0.113.9"},
		{"NoProxiesXFFIgnored", untrusted, "203.0.113.9:4242", []string{"198.51.100.1"}, "203.0.113.9"},
		{"NoProxiesXFFFromPrivatePeerIgnored", untrusted, "10.0.0.1:4242", []string{"198.51.100.1"}, "10.0.0.1"},
		{"UntrustedPeerXFFIgnored", trusted, "203.0.113.9:4242", []string{"198.51.100.1"}, "203.0.113.9"},
		{"TrustedPeerNoXFF", trusted, "10.0.0.1:4242", nil, "10.0.0.1"},
		{"TrustedPeerOneHop", trusted, "10.0.0.1:4242", []string{"198.51.100.1"}, "198.51.100.1"},
		{"RightMostUntrusted", trusted, "10.0.0.1:4242", []string{"198.51.100.1, 198.51.100.2"}, "198.51.100.2"},
		{"ForgedLeftMostLoses", trusted, "10.0.0.1:4242", []string{"1.1.1.1, 198.51.100.7"}, "198.51.100.7"},
		{"TrustedHopsSkipped", trusted, "10.0.0.1:4242", []string{"1.1.1.1, 198.51.100.7, 10.2.3.4, 192.168.1.1"}, "198.51.100.7"},
		{"SeveralHeaderLines", trusted, "10.0.0.1:4242", []string{"1.1.1.1", "198.51.100.7, 10.2.3.4"}, "198.51.100.7"},
		{"IPv6Peer", untrusted, "[2001:db8::1]:4242", []string{"198.51.100.1"}, "2001:db8::1"},
		{"IPv4MappedPeer", trusted, "[::ffff:10.0.0.1]:4242", []string{"198.51.100.1"}, "198.51.100.1"},
		{"GarbageHopStops", trusted, "10.0.0.1:4242", []string{"198.51.100.1, not-an-ip"}, "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("GET", "/api/v1/whoami", nil)
			req.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			rec := tt.tb.serve(req)
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, body %s", rec.Code, rec.Body)
			}
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}

	// The rate-limit key is the client IP: with no trusted proxies, a
	// client rotating X-Forwarded-For still shares one bucket.
	t.Run("RateLimitKeyIgnoresForgedXFF", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, map[string]string{"RATE_LIMIT_IP": "2/m:2"})
		var codes []int
		for i := range 3 {
			req := httptest.NewRequest("GET", "/api/v1/things/1", nil)
			req.RemoteAddr = "203.0.113.50:1000"
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
			codes = append(codes, tb.serve(req).Code)
		}
		if codes[2] != http.StatusTooManyRequests {
			t.Errorf("statuses = %v, want the third rate limited despite a new X-Forwarded-For", codes)
		}
	})
}

func TestRouting(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	tests := []struct {
		name   string
		method string
		target string
		status int
		code   string
		allow  string
	}{
		{"UnknownAPIRoute", "GET", "/api/v1/nope", http.StatusNotFound, "route_not_found", ""},
		{"UnknownVersion", "GET", "/api/v9/things/1", http.StatusNotFound, "route_not_found", ""},
		{"RegexParamMismatch", "GET", "/api/v1/things/abc/parts", http.StatusNotFound, "route_not_found", ""},
		{"WrongMethod", "PUT", "/api/v1/things/1", http.StatusMethodNotAllowed, "method_not_allowed", "GET, DELETE"},
		{"WrongMethodCollection", "GET", "/api/v1/things", http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{"WrongMethodPlatform", "POST", "/healthz", http.StatusMethodNotAllowed, "method_not_allowed", "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := tb.serve(httptest.NewRequest(tt.method, tt.target, nil))
			wantProblem(t, rec, tt.status, tt.code)
			if got := rec.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
}

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	srv := httptest.NewServer(tb.g.Handler())
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL + "/api/v1/panic")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	p := checkProblem(t, resp.StatusCode, resp.Header, body, http.StatusInternalServerError, "internal")
	if p.Detail != "Internal error." {
		t.Errorf("detail = %q, want %q", p.Detail, "Internal error.")
	}
	if strings.Contains(string(body), "secret internals") {
		t.Errorf("panic value leaked to the client: %s", body)
	}
	if !strings.Contains(tb.log.String(), "panic serving request") {
		t.Errorf("panic not logged; log:\n%s", tb.log)
	}

	resp, err = http.Get(srv.URL + "/api/v1/things/7")
	if err != nil {
		t.Fatalf("server stopped serving after a panic: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("next request: status = %d, want 200", resp.StatusCode)
	}
}

// unknownLength hides the length of a reader so that http.Client sends it
// chunked.
type unknownLength struct{ io.Reader }

func jsonBody(size int) string {
	return `{"name":"` + strings.Repeat("a", size) + `"}`
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	tb := setup(t, map[string]string{"MAX_BODY_BYTES": "1048576"})
	srv := httptest.NewServer(tb.g.Handler())
	t.Cleanup(srv.Close)

	big := jsonBody(2 << 20)
	tests := []struct {
		name    string
		path    string
		body    string
		chunked bool
		status  int
		code    string
	}{
		{"SmallOK", "/api/v1/things", jsonBody(1024), false, http.StatusOK, ""},
		{"SmallChunkedOK", "/api/v1/things", jsonBody(1024), true, http.StatusOK, ""},
		{"JustUnderLimit", "/api/v1/things", jsonBody(1048576 - 20), false, http.StatusOK, ""},
		{"BigContentLength", "/api/v1/things", big, false, http.StatusRequestEntityTooLarge, "body_too_large"},
		{"BigChunked", "/api/v1/things", big, true, http.StatusRequestEntityTooLarge, "body_too_large"},
		{"SmallObjectThenBigTrailer", "/api/v1/things", jsonBody(10) + strings.Repeat(" ", 2<<20), true, http.StatusRequestEntityTooLarge, "body_too_large"},
		{"OpOverrideOK", "/api/v1/uploads", jsonBody(1024), false, http.StatusOK, ""},
		{"OpOverrideContentLength", "/api/v1/uploads", jsonBody(8192), false, http.StatusRequestEntityTooLarge, "body_too_large"},
		{"OpOverrideChunked", "/api/v1/uploads", jsonBody(8192), true, http.StatusRequestEntityTooLarge, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = unknownLength{body}
			}
			req, err := http.NewRequest("POST", srv.URL+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.chunked && req.ContentLength != 0 {
				t.Fatalf("request has ContentLength %d, want unknown", req.ContentLength)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			rb, _ := io.ReadAll(resp.Body)
			if tt.code == "" {
				if resp.StatusCode != tt.status {
					t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tt.status, rb)
				}
				return
			}
			checkProblem(t, resp.StatusCode, resp.Header, rb, tt.status, tt.code)
		})
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		code        string
		field       string
		fieldCode   string
	}{
		{"OK", "application/json", `{"name":"x","age":3}`, http.StatusOK, "", "", ""},
		{"OKCharset", "application/json; charset=utf-8", `{"name":"x"}`, http.StatusOK, "", "", ""},
		{"OKPlusJSON", "application/merge-patch+json", `{"name":"x"}`, http.StatusOK, "", "", ""},
		{"OKNoContentType", "", `{"name":"x"}`, http.StatusOK, "", "", ""},
		{"OKTrailingWhitespace", "application/json", "{\"name\":\"x\"}\n\n", http.StatusOK, "", "", ""},
		{"Malformed", "application/json", `{"name":`, http.StatusBadRequest, "malformed_json", "", ""},
		{"Garbage", "application/json", `not json`, http.StatusBadRequest, "malformed_json", "", ""},
		{"Empty", "application/json", ``, http.StatusBadRequest, "empty_body", "", ""},
		{"NotAnObject", "application/json", `[1,2]`, http.StatusBadRequest, "malformed_json", "", ""},
		{"TwoObjects", "application/json", `{"name":"a"}{"name":"b"}`, http.StatusBadRequest, "malformed_json", "", ""},
		{"TrailingGarbage", "application/json", `{"name":"a"} x`, http.StatusBadRequest, "malformed_json", "", ""},
		{"UnknownField", "application/json", `{"name":"a","admin":true}`, http.StatusUnprocessableEntity, "validation_failed", "admin", "unknown_field"},
		{"WrongTypeNumber", "application/json", `{"name":"a","age":"old"}`, http.StatusUnprocessableEntity, "validation_failed", "age", "wrong_type"},
		{"WrongTypeString", "application/json", `{"name":5}`, http.StatusUnprocessableEntity, "validation_failed", "name", "wrong_type"},
		{"WrongTypeList", "application/json", `{"tags":"a"}`, http.StatusUnprocessableEntity, "validation_failed", "tags", "wrong_type"},
		{"TextPlain", "text/plain", `{"name":"a"}`, http.StatusUnsupportedMediaType, "unsupported_media_type", "", ""},
		{"FormEncoded", "application/x-www-form-urlencoded", `name=a`, http.StatusUnsupportedMediaType, "unsupported_media_type", "", ""},
		{"BadContentType", ";;;", `{"name":"a"}`, http.StatusUnsupportedMediaType, "unsupported_media_type", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("POST", "/api/v1/things", strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			rec := tb.serve(req)
			if tt.code == "" {
				if rec.Code != tt.status {
					t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
				}
				return
			}
			p := wantProblem(t, rec, tt.status, tt.code)
			if tt.field == "" {
				return
			}
			if len(p.Errors) != 1 {
				t.Fatalf("errors = %+v, want one naming %q", p.Errors, tt.field)
			}
			if p.Errors[0].Field != tt.field || p.Errors[0].Code != tt.fieldCode || p.Errors[0].Message == "" {
				t.Errorf("errors[0] = %+v, want field %q code %q with a message", p.Errors[0], tt.field, tt.fieldCode)
			}
		})
	}
}

func TestAccess(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	tests := []struct {
		name      string
		target    string
		authz     string
		status    int
		code      string
		challenge string // substring of WWW-Authenticate; "" means absent
	}{
		{"AdminNoToken", "/api/v1/admin/things", "", http.StatusUnauthorized, "unauthorized", `Bearer realm="streamflix"`},
		{"AdminRejectedToken", "/api/v1/admin/things", "Bearer not-a-real-token", http.StatusUnauthorized, "invalid_token", `error="invalid_token"`},
		{"AdminAsUser", "/api/v1/admin/things", "Bearer " + tokenUser1, http.StatusForbidden, "admin_required", ""},
		{"AdminAsAdmin", "/api/v1/admin/things", "Bearer " + tokenAdmin, http.StatusOK, "", ""},
		{"AdminLowercaseScheme", "/api/v1/admin/things", "bearer " + tokenAdmin, http.StatusOK, "", ""},
		{"ProfileWithoutProfile", "/api/v1/profile/things", "Bearer " + tokenUser1, http.StatusForbidden, "profile_required", ""},
		{"ProfileNoToken", "/api/v1/profile/things", "", http.StatusUnauthorized, "unauthorized", `Bearer realm="streamflix"`},
		{"ProfileWithProfile", "/api/v1/profile/things", "Bearer " + tokenProfile, http.StatusOK, "", ""},
		{"UserNoToken", "/api/v1/me", "", http.StatusUnauthorized, "unauthorized", `Bearer realm="streamflix"`},
		{"UserOK", "/api/v1/me", "Bearer " + tokenUser1, http.StatusOK, "", ""},
		{"PublicAnonymous", "/api/v1/things/1", "", http.StatusOK, "", ""},
		{"PublicWithBadToken", "/api/v1/things/1", "Bearer not-a-real-token", http.StatusUnauthorized, "invalid_token", `error="invalid_token"`},
		{"Basic", "/api/v1/admin/things", "Basic x", http.StatusUnauthorized, "invalid_authorization", `Bearer realm="streamflix"`},
		{"BearerNoToken", "/api/v1/admin/things", "Bearer", http.StatusUnauthorized, "invalid_authorization", `Bearer realm="streamflix"`},
		{"BearerBlankToken", "/api/v1/admin/things", "Bearer    ", http.StatusUnauthorized, "invalid_authorization", `Bearer realm="streamflix"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("GET", tt.target, nil)
			if tt.authz != "" {
				req.Header["Authorization"] = []string{tt.authz}
			}
			rec := tb.serve(req)
			challenge := rec.Header().Get("WWW-Authenticate")
			if tt.challenge == "" && challenge != "" {
				t.Errorf("WWW-Authenticate = %q, want none", challenge)
			}
			if tt.challenge != "" && !strings.Contains(challenge, tt.challenge) {
				t.Errorf("WWW-Authenticate = %q, want it to contain %q", challenge, tt.challenge)
			}
			if tt.code == "" {
				if rec.Code != tt.status {
					t.Errorf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
				}
				return
			}
			wantProblem(t, rec, tt.status, tt.code)
		})
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()

	t.Run("PerIP", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, map[string]string{"RATE_LIMIT_IP": "3/m:3", "RATE_LIMIT_USER": "0"})
		from := func(ip, target string) *httptest.ResponseRecorder {
			req := httptest.NewRequest("GET", target, nil)
			req.RemoteAddr = ip + ":5555"
			return tb.serve(req)
		}
		for i := range 3 {
			rec := from("203.0.113.1", "/api/v1/things/1")
			if rec.Code != http.StatusOK {
				t.Fatalf("request %d: status = %d, want 200", i+1, rec.Code)
			}
			if got, want := rec.Header().Get("RateLimit-Remaining"), strconv.Itoa(2-i); got != want {
				t.Errorf("request %d: RateLimit-Remaining = %q, want %q", i+1, got, want)
			}
		}
		rec := from("203.0.113.1", "/api/v1/things/1")
		wantProblem(t, rec, http.StatusTooManyRequests, "rate_limited")
		if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("Retry-After = %q, want a whole number >= 1", rec.Header().Get("Retry-After"))
		}
		if got := rec.Header().Get("RateLimit-Limit"); got != "3" {
			t.Errorf("RateLimit-Limit = %q, want 3", got)
		}
		if got := rec.Header().Get("RateLimit-Remaining"); got != "0" {
			t.Errorf("RateLimit-Remaining = %q, want 0", got)
		}

		if rec := from("203.0.113.2", "/api/v1/things/1"); rec.Code != http.StatusOK {
			t.Errorf("another IP: status = %d, want 200", rec.Code)
		}
		for i := range 10 {
			if rec := from("203.0.113.1", "/healthz"); rec.Code != http.StatusOK {
				t.Fatalf("/healthz request %d from a limited IP: status = %d, want 200", i+1, rec.Code)
			}
		}
	})

	t.Run("PerUser", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, map[string]string{"RATE_LIMIT_IP": "0", "RATE_LIMIT_USER": "2/m:2"})
		as := func(token string) int {
			req := httptest.NewRequest("GET", "/api/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			return tb.serve(req).Code
		}
		got := []int{as(tokenUser1), as(tokenUser1), as(tokenUser1), as(tokenUser2), as(tokenUser2)}
		want := []int{200, 200, 429, 200, 200}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("statuses (user1 x3, user2 x2) = %v, want %v", got, want)
		}
		// Anonymous requests are not counted against any user.
		for i := range 5 {
			if rec := tb.get("/api/v1/things/1"); rec.Code != http.StatusOK {
				t.Fatalf("anonymous request %d: status = %d, want 200", i+1, rec.Code)
			}
		}
	})
}

func TestCORS(t *testing.T) {
	t.Parallel()
	configured := setup(t, map[string]string{"CORS_ORIGINS": "https://app.example.com"})
	defaulted := setup(t, map[string]string{"PUBLIC_URL": "https://streamflix.example.com/app"})
	tests := []struct {
		name        string
		tb          *testBundle
		origin      string
		allowed     bool
		credentials bool
	}{
		{"ConfiguredOrigin", configured, "https://app.example.com", true, true},
		{"OtherOrigin", configured, "https://evil.example.com", false, false},
		{"SchemeMatters", configured, "http://app.example.com", false, false},
		// With CORS_ORIGINS unset only PUBLIC_URL's origin may call the API.
		{"DefaultPublicURL", defaulted, "https://streamflix.example.com", true, true},
		{"DefaultOtherOrigin", defaulted, "https://evil.example.com", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("OPTIONS", "/api/v1/things", nil)
			req.Header.Set("Origin", tt.origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "Authorization, Content-Type")
			rec := tt.tb.serve(req)
			acao := rec.Header().Get("Access-Control-Allow-Origin")
			acac := rec.Header().Get("Access-Control-Allow-Credentials")
			if tt.allowed && acao != tt.origin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", acao, tt.origin)
			}
			if !tt.allowed && acao != "" {
				t.Errorf("Access-Control-Allow-Origin = %q, want none", acao)
			}
			if tt.credentials != (acac == "true") {
				t.Errorf("Access-Control-Allow-Credentials = %q, want credentials %v", acac, tt.credentials)
			}
			if tt.allowed && !strings.Contains(rec.Header().Get("Access-Control-Allow-Methods"), "POST") {
				t.Errorf("Access-Control-Allow-Methods = %q, want POST", rec.Header().Get("Access-Control-Allow-Methods"))
			}
		})
	}

	t.Run("ActualRequestExposesHeaders", func(t *testing.T) {
		t.Parallel()
		rec := configured.get("/api/v1/things/1", "Origin", "https://app.example.com")
		if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "https://app.example.com" {
			t.Errorf("Access-Control-Allow-Origin = %q", got)
		}
		if got := rec.Header().Get("Access-Control-Expose-Headers"); !strings.Contains(got, "Retry-After") || !strings.Contains(got, "X-Request-Id") {
			t.Errorf("Access-Control-Expose-Headers = %q, want Retry-After and X-Request-Id", got)
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	tb := setup(t, map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8"})
	tests := []struct {
		name   string
		target string
		remote string
		proto  string
		hsts   bool
	}{
		{"Healthz", "/healthz", "", "", false},
		{"APIRoute", "/api/v1/things/1", "", "", false},
		{"NotFound", "/api/v1/nope", "", "", false},
		{"HTTPSViaTrustedProxy", "/healthz", "10.0.0.1:1", "https", true},
		{"HTTPSClaimedByUntrustedPeer", "/healthz", "203.0.113.1:1", "https", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("GET", tt.target, nil)
			if tt.remote != "" {
				req.RemoteAddr = tt.remote
			}
			if tt.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			h := tb.serve(req).Header()
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			if got := h.Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options = %q", got)
			}
			if got := h.Get("Content-Security-Policy"); !strings.Contains(got, "default-src 'self'") || !strings.Contains(got, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy = %q", got)
			}
			if got := h.Get("Strict-Transport-Security") != ""; got != tt.hsts {
				t.Errorf("Strict-Transport-Security present = %v, want %v", got, tt.hsts)
			}
		})
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	okCheck := gateway.Check{Name: "postgres", Fn: func(context.Context) error { return nil }}
	tests := []struct {
		name   string
		checks []gateway.Check
		drain  bool
		status int
		state  string
		want   map[string]string
	}{
		{"OK", []gateway.Check{okCheck, {Name: "queue", Fn: func(context.Context) error { return nil }}}, false,
			http.StatusOK, "ready", map[string]string{"postgres": "ok", "queue": "ok"}},
		{"FailingCheck", []gateway.Check{okCheck, {Name: "queue", Fn: func(context.Context) error { return errors.New("queue stalled") }}}, false,
			http.StatusServiceUnavailable, "not_ready", map[string]string{"postgres": "ok", "queue": "error: queue stalled"}},
		{"FailingOptionalCheck", []gateway.Check{okCheck, {Name: "redis", Optional: true, Fn: func(context.Context) error { return errors.New("dial tcp: refused") }}}, false,
			http.StatusOK, "ready", map[string]string{"postgres": "ok", "redis": "error: dial tcp: refused"}},
		{"Draining", []gateway.Check{okCheck}, true, http.StatusServiceUnavailable, "draining", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, nil, func(d *gateway.Deps) {
				d.Checks = tt.checks
				d.Info = map[string]string{"cache": "memory"}
			})
			if tt.drain {
				tb.g.SetDraining()
			}
			rec := tb.get("/readyz")
			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			var body gateway.Readiness
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body: %v: %s", err, rec.Body)
			}
			if body.Status != tt.state {
				t.Errorf("status field = %q, want %q", body.Status, tt.state)
			}
			if fmt.Sprint(body.Checks) != fmt.Sprint(tt.want) {
				t.Errorf("checks = %v, want %v", body.Checks, tt.want)
			}
			if body.Info["cache"] != "memory" {
				t.Errorf("info = %v, want cache=memory", body.Info)
			}
		})
	}

	t.Run("Healthz", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, nil)
		tb.g.SetDraining()
		rec := tb.get("/healthz")
		var h gateway.Health
		if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil || rec.Code != http.StatusOK || h.Status != "ok" || h.Version != "test" {
			t.Errorf("/healthz while draining = %d %s, want 200 ok with the version", rec.Code, rec.Body)
		}
	})
}

func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	tb := setup(t, map[string]string{"REQUEST_TIMEOUT": "20ms"})
	wantProblem(t, tb.get("/api/v1/slow"), http.StatusServiceUnavailable, "request_timeout")
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)

	req := httptest.NewRequest("GET", "/api/v1/things/42?session=querySECRET", nil)
	req.Header.Set("Authorization", "Bearer "+tokenUser1)
	req.Header.Set("X-Request-Id", "log-test-request-1")
	if rec := tb.serve(req); rec.Code != http.StatusOK {
		t.Fatalf("status = %d", rec.Code)
	}
	if rec := tb.get("/api/v1/admin/things?x=querySECRET2"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("status = %d", rec.Code)
	}
	if rec := tb.get("/healthz"); rec.Code != http.StatusOK {
		t.Fatalf("status = %d", rec.Code)
	}

	raw := tb.log.String()
	for _, secret := range []string{tokenUser1, "querySECRET", "session=", "Bearer"} {
		if strings.Contains(raw, secret) {
			t.Errorf("log contains %q:\n%s", secret, raw)
		}
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(raw), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, l)
		}
		if m["message"] == "request" {
			lines = append(lines, m)
		}
	}
	// /healthz succeeded and is quiet: two lines for three requests.
	if len(lines) != 2 {
		t.Fatalf("got %d access-log lines, want 2:\n%s", len(lines), raw)
	}
	first, second := lines[0], lines[1]
	want := map[string]any{
		"request_id": "log-test-request-1", "method": "GET", "route": "/api/v1/things/{id}",
		"status": float64(200), "user_id": "user-1", "level": "info",
	}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("first line %s = %v, want %v", k, first[k], v)
		}
	}
	if b, _ := first["bytes"].(float64); b <= 0 {
		t.Errorf("first line bytes = %v, want > 0", first["bytes"])
	}
	if _, ok := first["duration_ms"].(float64); !ok {
		t.Errorf("first line duration_ms = %v, want a number", first["duration_ms"])
	}
	if second["route"] != "/api/v1/admin/things" || second["status"] != float64(401) {
		t.Errorf("second line route, status = %v, %v; want /api/v1/admin/things, 401", second["route"], second["status"])
	}
	if _, ok := second["user_id"]; ok {
		t.Errorf("anonymous request logged with user_id %v", second["user_id"])
	}
	if id, _ := second["request_id"].(string); !generatedID.MatchString(id) {
		t.Errorf("second line request_id = %q, want a generated id", id)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	for range 2 {
		tb.get("/api/v1/things/1")
	}
	tb.get("/api/v1/things/2")
	tb.get("/api/v1/nope/1")

	rec := tb.get("/metrics")
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`streamflix_http_requests_total{method="GET",route="/api/v1/things/{id}",status="200"} 3`,
		`streamflix_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`streamflix_http_request_duration_seconds_count{method="GET",route="/api/v1/things/{id}",status="200"} 3`,
		`streamflix_build_info{version="test"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `route="/api/v1/things/1"`) {
		t.Errorf("/metrics labels a raw path; want route patterns only")
	}
}

func TestHeadProbes(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		rec := tb.serve(httptest.NewRequest(http.MethodHead, path, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("HEAD %s = %d, want 200 (load balancers probe with HEAD)", path, rec.Code)
		}
	}
}

// TestMountMedia: media is served outside /api, for GET and HEAD, without
// the API's rate limit or authentication (an edge cache fronts it).
func TestMountMedia(t *testing.T) {
	t.Parallel()
	tb := setup(t, map[string]string{"RATE_LIMIT_IP": "1/m:1"})
	var got []string
	tb.g.MountMedia(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path)
		w.WriteHeader(http.StatusOK)
	}))
	for i := 0; i < 3; i++ {
		if rec := tb.get("/media/artwork/ab/185.jpg", "Authorization", "Bearer not-a-token"); rec.Code != http.StatusOK {
			t.Fatalf("GET %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	if rec := tb.serve(httptest.NewRequest("HEAD", "/media/a/b.m3u8", nil)); rec.Code != http.StatusOK {
		t.Fatalf("HEAD: %d", rec.Code)
	}
	wantProblem(t, tb.serve(httptest.NewRequest("POST", "/media/a/b.jpg", nil)), http.StatusMethodNotAllowed, "method_not_allowed")
	if strings.Join(got, ",") != "GET /media/artwork/ab/185.jpg,GET /media/artwork/ab/185.jpg,GET /media/artwork/ab/185.jpg,HEAD /media/a/b.m3u8" {
		t.Fatalf("handler saw %v", got)
	}
	// The API next door is still limited.
	tb.get("/api/v1/things/1")
	wantProblem(t, tb.get("/api/v1/things/1"), http.StatusTooManyRequests, "rate_limited")
}
