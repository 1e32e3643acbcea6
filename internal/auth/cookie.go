package auth

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/secret"
)

// The web app keeps its refresh token where page scripts cannot read it: in
// an httpOnly cookie scoped to the auth routes. A cookie is sent by the
// browser on its own, so the routes that read it also demand proof that the
// request came from our page (double-submit: the X-CSRF-Token header must
// equal the readable sf_csrf cookie, which another site can neither read nor
// set) and SameSite=Strict keeps the cookies off cross-site requests at all.
const (
	// RefreshCookie holds the refresh token (HttpOnly).
	RefreshCookie = "sf_refresh"
	// CSRFCookie holds the anti-CSRF value page scripts echo in CSRFHeader.
	CSRFCookie = "sf_csrf"
	// CSRFHeader carries CSRFCookie's value on cookie-authenticated requests.
	CSRFHeader = "X-CSRF-Token"

	refreshCookiePath = "/api/v1/auth"
)

// ErrCSRF answers a cookie-authenticated request without matching CSRF proof.
var ErrCSRF = apperr.New(apperr.Forbidden, "csrf_failed",
	"The request is missing its CSRF token; reload the page and try again.")

// cookieSecure says whether cookies get the Secure attribute: always for an
// https PUBLIC_URL, and for loopback hosts, which browsers treat as secure
// even over http. A plain-http PUBLIC_URL on another host (a LAN test
// setup) gets cookies without it, or the browser would drop them.
func cookieSecure(publicURL string) bool {
	u, err := url.Parse(publicURL)
	if err != nil {
		return true
	}
	if u.Scheme == "https" {
		return true
	}
	host := u.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// setSessionCookies hands the web app its refresh token and a fresh CSRF
// value. Both live as long as the refresh token.
func (h *Handler) setSessionCookies(w http.ResponseWriter, refresh string) {
	maxAge := int(h.s.cfg.RefreshTTL.Seconds())
	http.SetCookie(w, &http.Cookie{Name: RefreshCookie, Value: refresh, Path: refreshCookiePath,
		MaxAge: maxAge, HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteStrictMode})
	csrf, _ := secret.New()
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: csrf, Path: "/",
		MaxAge: maxAge, Secure: h.secure, SameSite: http.SameSiteStrictMode})
}

// clearSessionCookies removes both cookies.
func (h *Handler) clearSessionCookies(w http.ResponseWriter) {
	for _, c := range []*http.Cookie{
		{Name: RefreshCookie, Path: refreshCookiePath, HttpOnly: true},
		{Name: CSRFCookie, Path: "/"},
	} {
		c.MaxAge, c.Secure, c.SameSite = -1, h.secure, http.SameSiteStrictMode
		http.SetCookie(w, c)
	}
}

// cookieRefresh returns the refresh token from the cookie after checking
// the request's CSRF proof; "" when the request carries no cookie.
func cookieRefresh(r *http.Request) (string, error) {
	c, err := r.Cookie(RefreshCookie)
	if err != nil || c.Value == "" {
		return "", nil
	}
	want, err := r.Cookie(CSRFCookie)
	got := r.Header.Get(CSRFHeader)
	if err != nil || want.Value == "" || got == "" ||
		subtle.ConstantTimeCompare([]byte(want.Value), []byte(got)) != 1 {
		return "", ErrCSRF
	}
	return c.Value, nil
}
