package payment

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// CheckoutDone answers an API client that completed a sandbox checkout.
type CheckoutDone struct {
	Status      string `json:"status"`
	RedirectURL string `json:"redirect_url"`
}

// sandboxRoutes are the sandbox's hosted pages: what Stripe's checkout and
// portal pages are to Stripe. A browser gets HTML and a 303 to the return
// URL; an API client that asks for JSON (Accept: application/json) gets
// JSON. The session id in the URL is the capability, as at Stripe.
func (h *Handler) sandboxRoutes(r api.Routes) {
	formTypes := []string{"application/x-www-form-urlencoded"}
	r.Handle(api.Op{Method: "GET", Path: "/billing/sandbox/checkout/{id}", ID: "sandboxCheckoutPage", Tag: "billing", Access: api.Public,
		Summary: "The sandbox's hosted checkout page (a card form).", ContentType: "text/html"}, h.handleCheckoutPage)
	r.Handle(api.Op{Method: "POST", Path: "/billing/sandbox/checkout/{id}", ID: "sandboxCheckoutPay", Tag: "billing", Access: api.Public,
		Summary:      "Pay a sandbox checkout with the form's fields card_number, exp (MM/YY) and cvc; Stripe's test cards apply. 303 to the success URL, or JSON with Accept: application/json; 402 when declined.",
		RequestTypes: formTypes, Response: CheckoutDone{}, Errors: []*apperr.Error{ErrCardDeclined},
		Answers: append([]api.Answer{seeOther}, formPageAnswers...)}, h.handleCheckoutPay)
	r.Handle(api.Op{Method: "GET", Path: "/billing/sandbox/portal/{id}", ID: "sandboxPortalPage", Tag: "billing", Access: api.Public,
		Summary: "The sandbox's customer portal: change card, cancel.", ContentType: "text/html"}, h.handlePortalPage)
	r.Handle(api.Op{Method: "POST", Path: "/billing/sandbox/portal/{id}/card", ID: "sandboxPortalCard", Tag: "billing", Access: api.Public,
		Summary: "Replace the card (card_number, exp, cvc); an overdue invoice is retried at once.", RequestTypes: formTypes, Response: CheckoutDone{},
		Answers: []api.Answer{seeOther}}, h.handlePortalCard)
	r.Handle(api.Op{Method: "POST", Path: "/billing/sandbox/portal/{id}/cancel", ID: "sandboxPortalCancel", Tag: "billing", Access: api.Public,
		Summary: "Cancel at the period end.", RequestTypes: formTypes, Response: CheckoutDone{},
		Answers: []api.Answer{seeOther}}, h.handlePortalCancel)
}

// The form posts answer 303 to the next page, 200 with CheckoutDone to
// Accept: application/json, and a browser's failed checkout re-renders
// the form with the reason (a problem+json for API clients).
var (
	seeOther        = api.Answer{Status: http.StatusSeeOther, Description: "See Other: on to the success (or return) URL in Location."}
	formPageAnswers = []api.Answer{
		{Status: http.StatusPaymentRequired, ContentType: "text/html"},
		{Status: http.StatusUnprocessableEntity, ContentType: "text/html"},
		{Status: http.StatusConflict, ContentType: "text/html"},
	}
)

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

type pageData struct {
	Title, Action, Error, Plan, Amount, Email, Card string
	Cancel, Canceling                               bool
	CancelAction                                    string
}

func (h *Handler) page(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = sandboxPage.Execute(w, d)
}

func (h *Handler) handleCheckoutPage(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	c, err := h.s.sandbox.checkout(r.Context(), h.s.db, id, false)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	if c.Status != "open" {
		http.Redirect(w, r, c.SuccessURL, http.StatusSeeOther)
		return
	}
	h.page(w, http.StatusOK, pageData{Title: "Subscribe to streamflix " + c.PlanName, Action: r.URL.Path, Plan: c.PlanName,
		Amount: FormatMoney(c.Amount, c.Currency) + " / " + c.Interval, Email: c.Email})
}

func (h *Handler) handleCheckoutPay(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if err := r.ParseForm(); err != nil {
		api.WriteError(w, r, apperr.BadRequest("malformed_form", "Send the card form's fields."))
		return
	}
	success, err := h.s.sandbox.CompleteCheckout(r.Context(), id, r.PostForm.Get("card_number"), r.PostForm.Get("exp"), r.PostForm.Get("cvc"))
	if err != nil {
		if wantsJSON(r) || apperr.From(err) == nil {
			api.WriteError(w, r, err)
			return
		}
		c, cerr := h.s.sandbox.checkout(r.Context(), h.s.db, id, false)
		if cerr != nil {
			api.WriteError(w, r, err)
			return
		}
		h.page(w, apperr.From(err).HTTPStatus(), pageData{Title: "Subscribe to streamflix " + c.PlanName, Action: r.URL.Path, Plan: c.PlanName,
			Amount: FormatMoney(c.Amount, c.Currency) + " / " + c.Interval, Email: c.Email, Error: errText(err)})
		return
	}
	if wantsJSON(r) {
		api.JSON(w, http.StatusOK, CheckoutDone{Status: "complete", RedirectURL: success})
		return
	}
	http.Redirect(w, r, success, http.StatusSeeOther)
}

func errText(err error) string {
	e := apperr.From(err)
	if len(e.Fields) > 0 {
		return e.Fields[0].Message
	}
	return e.Message
}

func (h *Handler) handlePortalPage(w http.ResponseWriter, r *http.Request) {
	s, _, err := h.s.sandbox.portalSub(r.Context(), h.s.db, chi.URLParam(r, "id"), false)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	h.page(w, http.StatusOK, pageData{Title: "Manage your streamflix subscription", Action: r.URL.Path + "/card", CancelAction: r.URL.Path + "/cancel",
		Plan: s.PlanName, Amount: FormatMoney(s.Amount, s.Currency) + " / " + s.Interval, Card: s.CardBrand + " •••• " + s.CardLast4,
		Cancel: s.Status != string(StatusCanceled) && !s.CancelAtPeriodEnd, Canceling: s.CancelAtPeriodEnd})
}

func (h *Handler) handlePortalCard(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		api.WriteError(w, r, apperr.BadRequest("malformed_form", "Send the card form's fields."))
		return
	}
	ret, err := h.s.sandbox.UpdateCard(r.Context(), chi.URLParam(r, "id"), r.PostForm.Get("card_number"), r.PostForm.Get("exp"), r.PostForm.Get("cvc"))
	h.portalAnswer(w, r, ret, err)
}

func (h *Handler) handlePortalCancel(w http.ResponseWriter, r *http.Request) {
	ret, err := h.s.sandbox.PortalCancel(r.Context(), chi.URLParam(r, "id"))
	h.portalAnswer(w, r, ret, err)
}

func (h *Handler) portalAnswer(w http.ResponseWriter, r *http.Request, ret string, err error) {
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	if wantsJSON(r) {
		api.JSON(w, http.StatusOK, CheckoutDone{Status: "updated", RedirectURL: ret})
		return
	}
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

var sandboxPage = template.Must(template.New("sandbox").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Title}}</title>
<style>body{font-family:Helvetica,Arial,sans-serif;max-width:420px;margin:40px auto;color:#222}label{display:block;margin:12px 0 4px}input{width:100%;padding:8px;font-size:16px;box-sizing:border-box}button{margin-top:16px;padding:10px 20px;background:#e50914;color:#fff;border:0;border-radius:4px;font-size:16px}.err{color:#b00020}.note{font-size:12px;color:#666}</style></head>
<body><p class="note">SANDBOX · test mode · no real money moves</p><h1>{{.Title}}</h1>
<p><strong>{{.Plan}}</strong> · {{.Amount}}{{with .Email}}<br>{{.}}{{end}}{{with .Card}}<br>Card: {{.}}{{end}}</p>
{{with .Error}}<p class="err" role="alert">{{.}}</p>{{end}}
<form method="post" action="{{.Action}}">
<label for="card_number">Card number</label><input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" placeholder="4242 4242 4242 4242" required>
<label for="exp">Expiry (MM/YY)</label><input id="exp" name="exp" autocomplete="cc-exp" placeholder="12/34" required>
<label for="cvc">CVC</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" placeholder="123" required>
<button type="submit">{{if .CancelAction}}Update card{{else}}Subscribe{{end}}</button></form>
{{if .Cancel}}<form method="post" action="{{.CancelAction}}"><button type="submit">Cancel at the end of the period</button></form>{{end}}
{{if .Canceling}}<p>The subscription ends at the end of the period.</p>{{end}}
<p class="note">Test cards: 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 is declined; 4000 0000 0000 0341 succeeds now and fails every renewal.</p>
</body></html>
`))
