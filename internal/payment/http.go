package payment

import (
	"errors"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// Handler serves payment's routes.
type Handler struct{ s *Service }

// NewHandler returns the HTTP handler over s.
func NewHandler(s *Service) *Handler { return &Handler{s: s} }

// Request and response bodies.
type (
	// PlanList is the plans on offer.
	PlanList struct {
		Items []Plan `json:"items"`
	}
	// InvoiceList is an account's invoices, newest first.
	InvoiceList struct {
		Items []Invoice `json:"items"`
	}
	// PortalResult is where the customer manages their card.
	PortalResult struct {
		URL string `json:"url"`
	}
	// ClockAdvance moves the sandbox clock: a Go duration or a number of
	// days such as "31d".
	ClockAdvance struct {
		Duration string `json:"duration"`
	}
	// ClockState is the sandbox clock's time.
	ClockState struct {
		Now time.Time `json:"now"`
	}
	// WebhookAck answers a webhook.
	WebhookAck struct {
		Received  bool `json:"received"`
		Duplicate bool `json:"duplicate,omitempty"`
	}
)

var idemParam = api.Param{Name: IdempotencyHeader, In: "header", Required: true, Description: "A unique key per operation: a replay returns the first answer; the same key with another body is 422."}

// Routes mounts the routes.
func (h *Handler) Routes(r api.Routes) {
	r.Handle(api.Op{Method: "GET", Path: "/plans", ID: "plansList", Tag: "billing", Access: api.Public,
		Summary: "The plans on offer, cheapest first, with their current price (integer minor units and ISO currency).", Response: PlanList{}}, h.handlePlans)
	r.Handle(api.Op{Method: "GET", Path: "/subscription", ID: "subscriptionGet", Tag: "billing", Access: api.User,
		Summary: "The account's subscription (status, plan, current_period_end, cancel_at_period_end) and its entitlement; 404 when there is none.", Response: Subscription{}}, h.handleSubscription)
	r.Handle(api.Op{Method: "POST", Path: "/billing/checkout", ID: "billingCheckout", Tag: "billing", Access: api.User, Params: []api.Param{idemParam},
		Summary: "Start paying for a plan: answers the hosted checkout's URL. Verified accounts only; 409 when a subscription is already live.",
		Request: CheckoutInput{}, Response: CheckoutResult{}, Status: http.StatusCreated}, h.handleCheckout)
	r.Handle(api.Op{Method: "POST", Path: "/subscription/change", ID: "subscriptionChange", Tag: "billing", Access: api.User, Params: []api.Param{idemParam},
		Summary: "Change plan: an upgrade takes effect at once and charges the prorated difference; a downgrade takes effect at the period end.",
		Request: ChangePlanInput{}, Response: Subscription{}}, h.handleChange)
	r.Handle(api.Op{Method: "POST", Path: "/subscription/cancel", ID: "subscriptionCancel", Tag: "billing", Access: api.User, Params: []api.Param{idemParam},
		Summary: "Cancel at the period end; access stays until then.", Response: Subscription{}}, h.handleCancel)
	r.Handle(api.Op{Method: "POST", Path: "/subscription/resume", ID: "subscriptionResume", Tag: "billing", Access: api.User, Params: []api.Param{idemParam},
		Summary: "Take back a scheduled cancellation before the period ends.", Response: Subscription{}}, h.handleResume)
	r.Handle(api.Op{Method: "GET", Path: "/billing/invoices", ID: "invoicesList", Tag: "billing", Access: api.User,
		Summary: "The account's invoices, newest first. tax is always 0: no tax is collected yet.", Response: InvoiceList{}}, h.handleInvoices)
	r.Handle(api.Op{Method: "GET", Path: "/billing/invoices/{id}", ID: "invoiceGet", Tag: "billing", Access: api.User,
		Summary: "One invoice with its lines and totals (tax is a documented 0).", Response: Invoice{}}, h.handleInvoice)
	r.Handle(api.Op{Method: "GET", Path: "/billing/invoices/{id}/receipt", ID: "invoiceReceipt", Tag: "billing", Access: api.User,
		Summary: "An invoice's receipt as an HTML page.", ContentType: "text/html"}, h.handleReceipt)
	r.Handle(api.Op{Method: "POST", Path: "/billing/portal", ID: "billingPortal", Tag: "billing", Access: api.User,
		Summary: "The URL of the provider's customer portal (change card, cancel).", Response: PortalResult{}}, h.handlePortal)
	r.Handle(api.Op{Method: "POST", Path: "/billing/webhooks/{provider}", ID: "billingWebhook", Tag: "billing", Access: api.Public, MaxBody: 256 << 10,
		Summary:      "Signed events from the payment provider (Stripe-Signature, raw body, 5-minute tolerance); recorded once by event id and applied by a job.",
		RequestTypes: []string{"application/json"}, Response: WebhookAck{}}, h.handleWebhook)

	r.Handle(api.Op{Method: "GET", Path: "/admin/billing/plans", ID: "adminPlansList", Tag: "billing", Access: api.Admin,
		Summary: "Every plan, inactive ones included.", Response: PlanList{}}, h.handleAdminPlans)
	r.Handle(api.Op{Method: "POST", Path: "/admin/billing/plans", ID: "adminPlanCreate", Tag: "billing", Access: api.Admin,
		Summary: "Add a plan with its first price.", Request: PlanInput{}, Response: Plan{}, Status: http.StatusCreated}, h.handleAdminPlanCreate)
	r.Handle(api.Op{Method: "PATCH", Path: "/admin/billing/plans/{code}", ID: "adminPlanUpdate", Tag: "billing", Access: api.Admin,
		Summary: "Change a plan; a new amount or currency is a new price version (subscribers keep theirs until their next period).",
		Request: PlanPatch{}, Response: Plan{}}, h.handleAdminPlanUpdate)
	r.Handle(api.Op{Method: "DELETE", Path: "/admin/billing/plans/{code}", ID: "adminPlanDelete", Tag: "billing", Access: api.Admin,
		Summary: "Stop offering a plan (it is deactivated; subscribers keep it)."}, h.handleAdminPlanDelete)
	r.Handle(api.Op{Method: "GET", Path: "/admin/billing/accounts/{id}/subscription", ID: "adminAccountSubscription", Tag: "billing", Access: api.Admin,
		Summary: "An account's subscription with its recorded transitions.", Response: Subscription{}}, h.handleAdminSubscription)
	r.Handle(api.Op{Method: "GET", Path: "/admin/billing/accounts/{id}/invoices", ID: "adminAccountInvoices", Tag: "billing", Access: api.Admin,
		Summary: "An account's invoices.", Response: InvoiceList{}}, h.handleAdminInvoices)
	r.Handle(api.Op{Method: "POST", Path: "/admin/billing/invoices/{id}/refund", ID: "adminInvoiceRefund", Tag: "billing", Access: api.Admin, Params: []api.Param{idemParam},
		Summary: "Refund part (amount in minor units) or all (amount 0) of a paid invoice.", Request: RefundInput{}, Response: Invoice{}}, h.handleRefund)
	if h.s.sandbox != nil {
		r.Handle(api.Op{Method: "GET", Path: "/admin/billing/clock", ID: "adminBillingClock", Tag: "billing", Access: api.Admin,
			Summary: "The sandbox's test clock.", Response: ClockState{}}, h.handleClock)
		r.Handle(api.Op{Method: "POST", Path: "/admin/billing/clock/advance", ID: "adminBillingClockAdvance", Tag: "billing", Access: api.Admin,
			Summary: "Move the sandbox's test clock forward and run the renewals, retries and cancellations that fall due.",
			Request: ClockAdvance{}, Response: ClockState{}}, h.handleAdvance)
		h.sandboxRoutes(r)
	}
}

func adultUser(r *http.Request) (*api.Principal, error) {
	p := api.PrincipalFrom(r.Context())
	if p.Kids {
		return nil, apperr.New(apperr.Forbidden, "kids_profile", "A kids profile cannot manage billing.")
	}
	return p, nil
}

func (h *Handler) handlePlans(w http.ResponseWriter, r *http.Request) {
	ps, err := h.s.Plans(r.Context(), false)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, PlanList{Items: ps})
}

func (h *Handler) handleSubscription(w http.ResponseWriter, r *http.Request) {
	sub, err := h.s.Subscription(r.Context(), api.PrincipalFrom(r.Context()).UserID)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, sub)
}

// decodeBody decodes an idempotent request's body; an empty body is {}.
func decodeBody(r *http.Request, body []byte, dst any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	return api.Decode(r, dst)
}

func (h *Handler) handleCheckout(w http.ResponseWriter, r *http.Request) {
	p, err := adultUser(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	h.s.idempotent(w, r, p.UserID, func(body []byte) (int, any, error) {
		var in CheckoutInput
		if err := api.Decode(r, &in); err != nil {
			return 0, nil, err
		}
		res, err := h.s.Checkout(r.Context(), p.UserID, in, r.Header.Get(IdempotencyHeader))
		return http.StatusCreated, res, err
	})
}

func (h *Handler) handleChange(w http.ResponseWriter, r *http.Request) {
	p, err := adultUser(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	h.s.idempotent(w, r, p.UserID, func(body []byte) (int, any, error) {
		var in ChangePlanInput
		if err := api.Decode(r, &in); err != nil {
			return 0, nil, err
		}
		sub, err := h.s.ChangePlan(r.Context(), p.UserID, in, r.Header.Get(IdempotencyHeader))
		return http.StatusOK, sub, err
	})
}

func (h *Handler) handleCancel(w http.ResponseWriter, r *http.Request) {
	h.cancelOrResume(w, r, true)
}

func (h *Handler) handleResume(w http.ResponseWriter, r *http.Request) {
	h.cancelOrResume(w, r, false)
}

func (h *Handler) cancelOrResume(w http.ResponseWriter, r *http.Request, cancel bool) {
	p, err := adultUser(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	h.s.idempotent(w, r, p.UserID, func(body []byte) (int, any, error) {
		var in struct{}
		if err := decodeBody(r, body, &in); err != nil {
			return 0, nil, err
		}
		key := r.Header.Get(IdempotencyHeader)
		var sub Subscription
		if cancel {
			sub, err = h.s.Cancel(r.Context(), p.UserID, key)
		} else {
			sub, err = h.s.Resume(r.Context(), p.UserID, key)
		}
		return http.StatusOK, sub, err
	})
}

func (h *Handler) handleInvoices(w http.ResponseWriter, r *http.Request) {
	invs, err := h.s.Invoices(r.Context(), api.PrincipalFrom(r.Context()).UserID)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, InvoiceList{Items: invs})
}

func (h *Handler) handleInvoice(w http.ResponseWriter, r *http.Request) {
	inv, err := h.s.Invoice(r.Context(), api.PrincipalFrom(r.Context()).UserID, chi.URLParam(r, "id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, inv)
}

func (h *Handler) handleReceipt(w http.ResponseWriter, r *http.Request) {
	p := api.PrincipalFrom(r.Context())
	owner := p.UserID
	if p.HasRole(api.RoleAdmin) {
		owner = ""
	}
	inv, err := h.s.Invoice(r.Context(), owner, chi.URLParam(r, "id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	_ = receiptPage.Execute(w, receiptData(inv))
}

func (h *Handler) handlePortal(w http.ResponseWriter, r *http.Request) {
	p, err := adultUser(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	u, err := h.s.Portal(r.Context(), p.UserID)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, PortalResult{URL: u})
}

func (h *Handler) handleWebhook(w http.ResponseWriter, r *http.Request) {
	payload, err := io.ReadAll(r.Body)
	if err != nil {
		api.WriteError(w, r, api.ErrBodyTooLarge)
		return
	}
	dup, err := h.s.ReceiveWebhook(r.Context(), chi.URLParam(r, "provider"), payload, r.Header.Get("Stripe-Signature"))
	if err != nil {
		if errors.Is(err, ErrSignatureInvalid) {
			err = ErrSignatureInvalid // the verifier's detail stays out of the answer
		}
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, WebhookAck{Received: true, Duplicate: dup})
}

func (h *Handler) handleAdminPlans(w http.ResponseWriter, r *http.Request) {
	ps, err := h.s.Plans(r.Context(), true)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, PlanList{Items: ps})
}

func (h *Handler) handleAdminPlanCreate(w http.ResponseWriter, r *http.Request) {
	var in PlanInput
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	p, err := h.s.CreatePlan(r.Context(), in)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusCreated, p)
}

func (h *Handler) handleAdminPlanUpdate(w http.ResponseWriter, r *http.Request) {
	var in PlanPatch
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	p, err := h.s.UpdatePlan(r.Context(), chi.URLParam(r, "code"), in)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, p)
}

func (h *Handler) handleAdminPlanDelete(w http.ResponseWriter, r *http.Request) {
	if err := h.s.DeactivatePlan(r.Context(), chi.URLParam(r, "code")); err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) handleAdminSubscription(w http.ResponseWriter, r *http.Request) {
	sub, err := h.s.AdminSubscription(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, sub)
}

func (h *Handler) handleAdminInvoices(w http.ResponseWriter, r *http.Request) {
	invs, err := h.s.Invoices(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, InvoiceList{Items: invs})
}

func (h *Handler) handleRefund(w http.ResponseWriter, r *http.Request) {
	p := api.PrincipalFrom(r.Context())
	h.s.idempotent(w, r, "admin:"+p.UserID, func(body []byte) (int, any, error) {
		var in RefundInput
		if err := decodeBody(r, body, &in); err != nil {
			return 0, nil, err
		}
		inv, err := h.s.Refund(r.Context(), chi.URLParam(r, "id"), in, r.Header.Get(IdempotencyHeader))
		return http.StatusOK, inv, err
	})
}

func (h *Handler) handleClock(w http.ResponseWriter, r *http.Request) {
	now, err := h.s.Clock(r.Context())
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, ClockState{Now: now})
}

// ParseAdvance reads a clock advance: a Go duration ("36h") or whole days ("31d").
func ParseAdvance(s string) (time.Duration, error) {
	bad := apperr.Validation(apperr.FieldError{Field: "duration", Code: "invalid", Message: `A duration such as "36h" or "31d".`})
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, bad
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, bad
	}
	return d, nil
}

func (h *Handler) handleAdvance(w http.ResponseWriter, r *http.Request) {
	var in ClockAdvance
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	d, err := ParseAdvance(in.Duration)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	now, err := h.s.AdvanceClock(r.Context(), d)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, ClockState{Now: now})
}

type receiptView struct {
	Invoice
	Lines                                    []receiptLine
	SubtotalText, TaxText, TotalText, PaidAt string
	RefundedText, Period                     string
}

type receiptLine struct{ Description, Amount string }

func receiptData(inv Invoice) receiptView {
	v := receiptView{Invoice: inv, SubtotalText: FormatMoney(inv.Subtotal, inv.Currency), TaxText: FormatMoney(inv.Tax, inv.Currency),
		TotalText: FormatMoney(inv.Total, inv.Currency), Period: humanDate(inv.PeriodStart) + " – " + humanDate(inv.PeriodEnd)}
	if inv.PaidAt != nil {
		v.PaidAt = humanDate(*inv.PaidAt)
	}
	if inv.AmountRefunded > 0 {
		v.RefundedText = FormatMoney(inv.AmountRefunded, inv.Currency)
	}
	for _, l := range inv.Lines {
		v.Lines = append(v.Lines, receiptLine{Description: l.Description, Amount: FormatMoney(l.Amount, inv.Currency)})
	}
	return v
}

var receiptPage = template.Must(template.New("receipt").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Receipt {{.Number}} · streamflix</title>
<style>body{font-family:Helvetica,Arial,sans-serif;max-width:640px;margin:40px auto;color:#222}table{width:100%;border-collapse:collapse}td{padding:6px 0;border-bottom:1px solid #eee}td.r{text-align:right}h1{color:#e50914}</style></head>
<body><h1>STREAMFLIX</h1><h2>Receipt {{.Number}}</h2>
<p>Status: <strong>{{.Status}}</strong>{{with .PaidAt}} · paid {{.}}{{end}}<br>Period: {{.Period}}</p>
<table>{{range .Lines}}<tr><td>{{.Description}}</td><td class="r">{{.Amount}}</td></tr>{{end}}
<tr><td>Subtotal</td><td class="r">{{.SubtotalText}}</td></tr>
<tr><td>Tax (not collected: prices include any tax due)</td><td class="r">{{.TaxText}}</td></tr>
<tr><td><strong>Total</strong></td><td class="r"><strong>{{.TotalText}}</strong></td></tr>
{{with .RefundedText}}<tr><td>Refunded</td><td class="r">{{.}}</td></tr>{{end}}</table>
</body></html>
`))
