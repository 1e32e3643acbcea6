package auth

import (
	"net"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/streamflix/streamflix/internal/auth/token"
	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// Handler serves the auth routes.
type Handler struct {
	s        *Service
	clientIP ClientIPFunc
	secure   bool // cookies get the Secure attribute
}

// NewHandler returns the HTTP handler over s.
func NewHandler(s *Service) *Handler {
	return &Handler{s: s, clientIP: s.clientIP, secure: cookieSecure(s.cfg.PublicURL)}
}

// remoteIP is the default ClientIPFunc: the peer's address, for a
// Service built without a gateway in front.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Request bodies.
type (
	// LoginInput signs in a device.
	LoginInput struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		Device   Device `json:"device"`
		// Cookie asks for the refresh token as an httpOnly cookie (sf_refresh,
		// with the CSRF cookie sf_csrf) instead of in the body: for browsers.
		Cookie bool `json:"cookie,omitempty"`
	}
	// RefreshInput exchanges a refresh token.
	RefreshInput struct {
		// RefreshToken is the token to exchange; leave it out to use the
		// sf_refresh cookie, which also needs the X-CSRF-Token header.
		RefreshToken string `json:"refresh_token,omitempty"`
	}
	// ProfileInput selects a profile.
	ProfileInput struct {
		ProfileID string `json:"profile_id"`
		PIN       string `json:"pin,omitempty"`
	}
	// ResetRequest asks for a reset link.
	ResetRequest struct {
		Email string `json:"email"`
	}
	// ResetConfirm sets a new password with a reset token.
	ResetConfirm struct {
		Token       string `json:"token"`
		NewPassword string `json:"new_password"`
	}
	// SessionList is the user's sessions.
	SessionList struct {
		Items []Session `json:"items"`
	}
	// Accepted is the body of 202 answers.
	Accepted struct {
		Status string `json:"status"`
	}
)

// Routes mounts the routes.
func (h *Handler) Routes(r api.Routes) {
	r.Handle(api.Op{Method: "POST", Path: "/auth/login", ID: "login", Tag: "auth", Access: api.Public,
		Summary: "Sign in with email and password; opens a session for the device.", Request: LoginInput{}, Response: Tokens{}, Example: LoginInput{Email: "viewer@example.com", Password: "correct horse battery staple", Device: Device{Name: "Living room TV", Kind: "tv"}}, Errors: []*apperr.Error{ErrInvalidCredentials, ErrLoginLocked}}, h.handleLogin)
	r.Handle(api.Op{Method: "POST", Path: "/auth/refresh", ID: "refresh", Tag: "auth", Access: api.Public,
		Summary: "Exchange a refresh token (in the body, or the sf_refresh cookie with the X-CSRF-Token header) for new tokens; the refresh token rotates, and reusing an old one signs the session out.",
		Request: RefreshInput{}, Response: Tokens{}, Errors: []*apperr.Error{ErrInvalidRefresh, ErrRefreshReused, ErrSessionRevoked, ErrCSRF}}, h.handleRefresh)
	r.Handle(api.Op{Method: "POST", Path: "/auth/logout", ID: "logout", Tag: "auth", Access: api.User,
		Summary: "Sign out this session."}, h.handleLogout)
	r.Handle(api.Op{Method: "POST", Path: "/auth/profile", ID: "profileSelect", Tag: "auth", Access: api.User,
		Summary: "Act as one of the account's profiles (with its PIN if it has one); answers tokens scoped to it.",
		Request: ProfileInput{}, Response: Tokens{}}, h.handleSelectProfile)
	r.Handle(api.Op{Method: "GET", Path: "/auth/sessions", ID: "sessionsList", Tag: "auth", Access: api.User,
		Summary: "Signed-in devices.", Response: SessionList{}}, h.handleSessions)
	r.Handle(api.Op{Method: "DELETE", Path: "/auth/sessions/{id}", ID: "sessionRevoke", Tag: "auth", Access: api.User,
		Summary: "Sign out one device.", Errors: []*apperr.Error{ErrSessionNotFound}}, h.handleRevoke)
	r.Handle(api.Op{Method: "DELETE", Path: "/auth/sessions", ID: "sessionsRevokeAll", Tag: "auth", Access: api.User,
		Summary: "Sign out everywhere, this device included."}, h.handleRevokeAll)
	r.Handle(api.Op{Method: "POST", Path: "/auth/password-reset", ID: "passwordResetRequest", Tag: "auth", Access: api.Public,
		Summary: "Email a password reset link (the answer is the same whether or not the email has an account).",
		Request: ResetRequest{}, Response: Accepted{}, Status: http.StatusAccepted, Errors: []*apperr.Error{ErrResetLimited}}, h.handleResetRequest)
	r.Handle(api.Op{Method: "POST", Path: "/auth/password-reset/confirm", ID: "passwordResetConfirm", Tag: "auth", Access: api.Public,
		Summary: "Set a new password with a reset token; signs out every session.", Request: ResetConfirm{}, Errors: []*apperr.Error{ErrResetTokenInvalid}}, h.handleResetConfirm)
	r.Handle(api.Op{Method: "GET", Path: "/auth/jwks.json", ID: "jwks", Tag: "auth", Access: api.Public,
		Summary: "The public keys that verify access tokens (JSON Web Key Set).", Response: token.JWKS{}}, h.handleJWKS)
}

func (h *Handler) client(r *http.Request) Client {
	return Client{IP: h.clientIP(r), UserAgent: r.UserAgent()}
}

func (h *Handler) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in LoginInput
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	t, err := h.s.Login(r.Context(), in.Email, in.Password, in.Device, h.client(r))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	if in.Cookie {
		h.setSessionCookies(w, t.RefreshToken)
		t.RefreshToken = ""
	}
	w.Header().Set("Cache-Control", "no-store")
	api.JSON(w, http.StatusOK, t)
}

func (h *Handler) handleRefresh(w http.ResponseWriter, r *http.Request) {
	var in RefreshInput
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	fromCookie := false
	if in.RefreshToken == "" {
		tok, err := cookieRefresh(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		in.RefreshToken, fromCookie = tok, tok != ""
	}
	w.Header().Set("Cache-Control", "no-store")
	t, err := h.s.Refresh(r.Context(), in.RefreshToken, h.client(r))
	if err != nil {
		if fromCookie && apperr.KindOf(err) == apperr.Unauthorized {
			h.clearSessionCookies(w) // the session is over; stop sending it
		}
		api.WriteError(w, r, err)
		return
	}
	if fromCookie {
		h.setSessionCookies(w, t.RefreshToken)
		t.RefreshToken = ""
	}
	api.JSON(w, http.StatusOK, t)
}

func (h *Handler) handleLogout(w http.ResponseWriter, r *http.Request) {
	p := api.PrincipalFrom(r.Context())
	if err := h.s.RevokeSession(r.Context(), p.UserID, p.SessionID); err != nil {
		api.WriteError(w, r, err)
		return
	}
	h.clearSessionCookies(w)
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) handleSelectProfile(w http.ResponseWriter, r *http.Request) {
	var in ProfileInput
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	t, err := h.s.SelectProfile(r.Context(), api.PrincipalFrom(r.Context()), in.ProfileID, in.PIN)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.JSON(w, http.StatusOK, t)
}

func (h *Handler) handleSessions(w http.ResponseWriter, r *http.Request) {
	p := api.PrincipalFrom(r.Context())
	list, err := h.s.Sessions(r.Context(), p.UserID, p.SessionID)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, SessionList{Items: list})
}

func (h *Handler) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := h.s.RevokeSession(r.Context(), api.PrincipalFrom(r.Context()).UserID, chi.URLParam(r, "id")); err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) handleRevokeAll(w http.ResponseWriter, r *http.Request) {
	if err := h.s.RevokeAll(r.Context(), api.PrincipalFrom(r.Context()).UserID); err != nil {
		api.WriteError(w, r, err)
		return
	}
	h.clearSessionCookies(w)
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) handleResetRequest(w http.ResponseWriter, r *http.Request) {
	var in ResetRequest
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	if err := h.s.RequestReset(r.Context(), in.Email, h.client(r)); err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusAccepted, Accepted{Status: "if_registered_email_sent"})
}

func (h *Handler) handleResetConfirm(w http.ResponseWriter, r *http.Request) {
	var in ResetConfirm
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	if err := h.s.ConfirmReset(r.Context(), in.Token, in.NewPassword, h.client(r)); err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) handleJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	api.JSON(w, http.StatusOK, h.s.tokens.JWKS())
}
