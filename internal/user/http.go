package user

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// Handler serves the user module's routes.
type Handler struct{ s *Service }

// NewHandler returns the HTTP handler over s.
func NewHandler(s *Service) *Handler { return &Handler{s: s} }

// Request and response bodies.
type (
	// AccountPatch changes the account's email; the password confirms it.
	AccountPatch struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	// PasswordConfirm confirms a destructive action.
	PasswordConfirm struct {
		Password string `json:"password"`
	}
	// PasswordChange replaces the password.
	PasswordChange struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	// VerifyEmailInput carries the token from the email link.
	VerifyEmailInput struct {
		Token string `json:"token"`
	}
	// PINConfirm carries a profile's PIN for deleting it.
	PINConfirm struct {
		CurrentPIN string `json:"current_pin,omitempty"`
	}
	// ProfileList is the profiles of the account.
	ProfileList struct {
		Items []Profile `json:"items"`
	}
	// Accepted is the body of 202 answers.
	Accepted struct {
		Status string `json:"status"`
	}
)

// Routes mounts the routes.
func (h *Handler) Routes(r api.Routes) {
	r.Handle(api.Op{Method: "POST", Path: "/accounts", ID: "signUp", Tag: "accounts", Access: api.Public,
		Summary: "Sign up with email and password; sends a verification email. The first profile is made with the account.",
		Request: SignUpInput{}, Response: Account{}, Status: http.StatusCreated, Errors: []*apperr.Error{ErrEmailTaken}}, h.handleSignUp)
	r.Handle(api.Op{Method: "GET", Path: "/account", ID: "accountGet", Tag: "accounts", Access: api.User,
		Summary: "The signed-in account.", Response: Account{}}, h.handleAccountGet)
	r.Handle(api.Op{Method: "PATCH", Path: "/account", ID: "accountUpdate", Tag: "accounts", Access: api.User,
		Summary: "Change the email address (confirmed by password); the change takes effect when the link sent to the new address is used.",
		Request: AccountPatch{}, Response: Accepted{}, Status: http.StatusAccepted, Errors: []*apperr.Error{ErrKidsProfileDenied, ErrEmailTaken}}, h.handleAccountPatch)
	r.Handle(api.Op{Method: "DELETE", Path: "/account", ID: "accountDelete", Tag: "accounts", Access: api.User,
		Summary: "Delete the account and its personal data, confirmed by password.", Request: PasswordConfirm{}, Errors: []*apperr.Error{ErrKidsProfileDenied}}, h.handleAccountDelete)
	r.Handle(api.Op{Method: "POST", Path: "/account/email-verification", ID: "emailVerificationResend", Tag: "accounts", Access: api.User,
		Summary: "Send the verification email again.", Response: Accepted{}, Status: http.StatusAccepted, Errors: []*apperr.Error{ErrAlreadyVerified}}, h.handleResend)
	r.Handle(api.Op{Method: "POST", Path: "/account/verify-email", ID: "emailVerify", Tag: "accounts", Access: api.Public,
		Summary: "Use the token from a verification link.", Request: VerifyEmailInput{}, Response: Account{}, Errors: []*apperr.Error{ErrTokenInvalid}}, h.handleVerify)
	r.Handle(api.Op{Method: "POST", Path: "/account/password", ID: "passwordChange", Tag: "accounts", Access: api.User,
		Summary: "Change the password; signs out every other session.", Request: PasswordChange{}, Errors: []*apperr.Error{ErrKidsProfileDenied}}, h.handlePasswordChange)

	r.Handle(api.Op{Method: "GET", Path: "/profiles", ID: "profilesList", Tag: "profiles", Access: api.User,
		Summary: "The account's profiles.", Response: ProfileList{}}, h.handleProfilesList)
	r.Handle(api.Op{Method: "POST", Path: "/profiles", ID: "profileCreate", Tag: "profiles", Access: api.User,
		Summary: "Add a profile (at most 5).", Request: ProfileInput{}, Response: Profile{}, Status: http.StatusCreated, Errors: []*apperr.Error{ErrKidsProfileDenied, ErrProfileLimit, ErrProfileNameTaken}}, h.handleProfileCreate)
	r.Handle(api.Op{Method: "GET", Path: "/profiles/{id}", ID: "profileGet", Tag: "profiles", Access: api.User,
		Summary: "One profile.", Response: Profile{}, Errors: []*apperr.Error{ErrProfileNotFound}}, h.handleProfileGet)
	r.Handle(api.Op{Method: "PATCH", Path: "/profiles/{id}", ID: "profileUpdate", Tag: "profiles", Access: api.User,
		Summary: `Change a profile; "pin": "" removes its PIN; a profile with a PIN needs current_pin.`, Request: ProfilePatch{}, Response: Profile{}, Errors: []*apperr.Error{ErrKidsProfileDenied, ErrProfileNotFound, ErrProfileNameTaken, ErrPINRequired, ErrWrongPIN, ErrPINLocked}}, h.handleProfileUpdate)
	r.Handle(api.Op{Method: "DELETE", Path: "/profiles/{id}", ID: "profileDelete", Tag: "profiles", Access: api.User,
		Summary: "Delete a profile (with current_pin if it has a PIN).", Request: PINConfirm{}, BodyOptional: true, Errors: []*apperr.Error{ErrKidsProfileDenied, ErrProfileNotFound, ErrLastProfile, ErrPINRequired, ErrWrongPIN, ErrPINLocked}}, h.handleProfileDelete)
}

// adult refuses kids profiles: they cannot manage the account or profiles.
func adult(r *http.Request) (*api.Principal, error) {
	p := api.PrincipalFrom(r.Context())
	if p.Kids {
		return nil, ErrKidsProfileDenied
	}
	return p, nil
}

func (h *Handler) handleSignUp(w http.ResponseWriter, r *http.Request) {
	var in SignUpInput
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	acc, err := h.s.SignUp(r.Context(), in)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/account")
	api.JSON(w, http.StatusCreated, acc)
}

func (h *Handler) handleAccountGet(w http.ResponseWriter, r *http.Request) {
	acc, err := h.s.Account(r.Context(), api.PrincipalFrom(r.Context()).UserID)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, acc)
}

func (h *Handler) handleAccountPatch(w http.ResponseWriter, r *http.Request) {
	p, err := adult(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	var in AccountPatch
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	if err := h.s.ChangeEmail(r.Context(), p.UserID, in.Email, in.Password); err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusAccepted, Accepted{Status: "verification_sent"})
}

func (h *Handler) handleAccountDelete(w http.ResponseWriter, r *http.Request) {
	p, err := adult(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	var in PasswordConfirm
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	if err := h.s.DeleteAccount(r.Context(), p.UserID, in.Password); err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) handleResend(w http.ResponseWriter, r *http.Request) {
	if err := h.s.ResendVerification(r.Context(), api.PrincipalFrom(r.Context()).UserID); err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusAccepted, Accepted{Status: "verification_sent"})
}

func (h *Handler) handleVerify(w http.ResponseWriter, r *http.Request) {
	var in VerifyEmailInput
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	if in.Token == "" || len(in.Token) > 200 {
		api.WriteError(w, r, apperr.Validation(apperr.FieldError{Field: "token", Code: "invalid", Message: "Use the token from the email link."}))
		return
	}
	acc, err := h.s.VerifyEmail(r.Context(), in.Token)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, acc)
}

func (h *Handler) handlePasswordChange(w http.ResponseWriter, r *http.Request) {
	p, err := adult(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	var in PasswordChange
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	if err := h.s.ChangePassword(r.Context(), p.UserID, p.SessionID, in.CurrentPassword, in.NewPassword); err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) handleProfilesList(w http.ResponseWriter, r *http.Request) {
	ps, err := h.s.Profiles(r.Context(), api.PrincipalFrom(r.Context()).UserID)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, ProfileList{Items: ps})
}

func (h *Handler) handleProfileCreate(w http.ResponseWriter, r *http.Request) {
	p, err := adult(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	var in ProfileInput
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	prof, err := h.s.CreateProfile(r.Context(), p.UserID, in)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/profiles/"+prof.ID)
	api.JSON(w, http.StatusCreated, prof)
}

func (h *Handler) handleProfileGet(w http.ResponseWriter, r *http.Request) {
	prof, err := h.s.Profile(r.Context(), api.PrincipalFrom(r.Context()).UserID, chi.URLParam(r, "id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, prof)
}

func (h *Handler) handleProfileUpdate(w http.ResponseWriter, r *http.Request) {
	p, err := adult(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	var in ProfilePatch
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	prof, err := h.s.UpdateProfile(r.Context(), p.UserID, chi.URLParam(r, "id"), in)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, prof)
}

func (h *Handler) handleProfileDelete(w http.ResponseWriter, r *http.Request) {
	p, err := adult(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	var in PINConfirm
	if r.ContentLength != 0 {
		if err := api.Decode(r, &in); err != nil {
			api.WriteError(w, r, err)
			return
		}
	}
	if err := h.s.DeleteProfile(r.Context(), p.UserID, chi.URLParam(r, "id"), in.CurrentPIN); err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
