import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useEffect, useRef, useState } from 'react'
import { Link, useLocation, useSearchParams } from 'react-router'
import { describe } from '../api/http'
import type { Invoice, Subscription } from '../api/models'
import { useSessionId } from '../auth/session'
import { Banner } from '../components/Form'
import { formatMoney, live, longDate, perInterval, shortDate, statusLabel } from '../lib/billing'
import { cancelSubscription, openPortal, openReceipt, resumeSubscription, subscriptionKey, useInvoices, usePlans, useSubscription } from '../lib/subscription'

// BillingSection is the account page's billing: the plan, the next charge,
// the card, cancel or resume, and the invoices with their receipts.
export function BillingSection() {
  const loc = useLocation()
  const [params] = useSearchParams()
  const ref = useRef<HTMLElement>(null)
  const returning = params.get('checkout') === 'success'
  const [settled, setSettled] = useState(false)
  // Back from checkout, the provider's event may still be on its way: ask again until it lands.
  const sub = useSubscription({ poll: returning && !settled })
  const invoices = useInvoices(!!sub.data)
  const notice = (loc.state as { notice?: string } | null)?.notice

  useEffect(() => {
    if (returning && live(sub.data)) setSettled(true)
  }, [returning, sub.data])
  useEffect(() => {
    if (loc.pathname === '/account/billing') ref.current?.scrollIntoView({ block: 'start' })
  }, [loc.pathname, sub.isPending])
  const qc = useQueryClient()
  const sid = useSessionId()
  useEffect(() => {
    if (settled) void qc.invalidateQueries({ queryKey: ['invoices', sid] })
  }, [settled, qc, sid])

  return (
    <section className="panel billing" aria-labelledby="acct-billing" ref={ref} id="billing">
      <h2 id="acct-billing">Plan and billing</h2>
      {returning && (settled ? <Banner kind="success">Thank you: your payment went through and your plan is active.</Banner> : <Banner kind="info">Payment received. Setting up your plan…</Banner>)}
      {notice && <Banner kind="success">{notice}</Banner>}
      {sub.error && <Banner>{describe(sub.error)}</Banner>}
      {sub.isPending && <div className="skeleton skeleton--line" />}
      {sub.data === null && (
        <>
          <p className="muted">You have no plan yet. Choose one to start watching.</p>
          <Link className="btn btn--primary" to="/plans">
            Choose a plan
          </Link>
        </>
      )}
      {sub.data && !live(sub.data) && (
        <>
          <p className="panel__value">
            {sub.data.plan.name} <span className="tag tag--warn">{statusLabel(sub.data)}</span>
          </p>
          <p className="muted">
            {sub.data.status === 'canceled'
              ? `Your subscription ended${sub.data.canceled_at ? ` on ${longDate(sub.data.canceled_at)}` : ''}.`
              : 'The payment for this plan has not gone through yet.'}
          </p>
          <Link className="btn btn--primary" to="/plans">
            Choose a plan
          </Link>
        </>
      )}
      {sub.data && live(sub.data) && <Current sub={sub.data} />}
      {invoices.error && <Banner>{describe(invoices.error)}</Banner>}
      {invoices.data && invoices.data.length > 0 && <Invoices items={invoices.data} />}
    </section>
  )
}

function Current({ sub }: { sub: Subscription }) {
  const qc = useQueryClient()
  const sid = useSessionId()
  const plans = usePlans()
  const [confirm, setConfirm] = useState(false)
  const onDone = (s: Subscription) => {
    qc.setQueryData(subscriptionKey(sid), s)
    setConfirm(false)
  }
  const cancel = useMutation({ mutationFn: cancelSubscription, onSuccess: onDone })
  const resume = useMutation({ mutationFn: resumeSubscription, onSuccess: onDone })
  const portal = useMutation({ mutationFn: openPortal })
  const end = sub.current_period_end
  const pending = sub.pending_plan ? plans.data?.find((p) => p.code === sub.pending_plan) : undefined
  const next = pending ? pending.price : sub.plan.price
  const tone = sub.status === 'past_due' ? 'tag--warn' : sub.cancel_at_period_end ? 'tag--warn' : 'tag--ok'
  const err = cancel.error ?? resume.error ?? portal.error

  return (
    <>
      {sub.status === 'past_due' && (
        <Banner>
          Your last payment did not go through. We will try again; update your card to keep watching without a break.
        </Banner>
      )}
      {err && <Banner>{describe(err)}</Banner>}
      <p className="panel__value">
        <span className="billing__plan">{sub.plan.name}</span> <span className={`tag ${tone}`}>{statusLabel(sub)}</span>
      </p>
      <dl className="billing__grid">
        <dt>Price</dt>
        <dd>{perInterval(sub.plan.price.amount, sub.plan.price.currency, sub.plan.interval)}</dd>
        {end && sub.cancel_at_period_end && (
          <>
            <dt>Renewal</dt>
            <dd data-testid="ends-on">Ends on {longDate(end)}. You can watch until then.</dd>
          </>
        )}
        {end && !sub.cancel_at_period_end && (
          <>
            <dt>{sub.status === 'trialing' ? 'First charge' : 'Next charge'}</dt>
            <dd data-testid="next-charge">
              {formatMoney(next.amount, next.currency)} on {longDate(end)}
            </dd>
          </>
        )}
        {sub.pending_plan && !sub.cancel_at_period_end && (
          <>
            <dt>Changing to</dt>
            <dd>
              {pending?.name ?? sub.pending_plan}
              {end ? ` on ${longDate(end)}` : ''}
            </dd>
          </>
        )}
        {sub.card && (
          <>
            <dt>Card</dt>
            <dd>
              {cardBrand(sub.card.brand)} ending in {sub.card.last4}
            </dd>
          </>
        )}
      </dl>
      <div className="form-actions">
        <Link className="btn btn--outline" to="/plans">
          Change plan
        </Link>
        <button className="btn btn--outline" onClick={() => portal.mutate()} disabled={portal.isPending}>
          Manage payment method
        </button>
        {sub.cancel_at_period_end ? (
          <button className="btn btn--primary" onClick={() => resume.mutate()} disabled={resume.isPending}>
            Keep my plan
          </button>
        ) : (
          !confirm && (
            <button className="btn btn--ghost" onClick={() => setConfirm(true)}>
              Cancel plan
            </button>
          )
        )}
      </div>
      {confirm && !sub.cancel_at_period_end && (
        <div className="disclosure inline-form" role="group" aria-label="Cancel plan">
          <p>
            Your plan stays until {end ? longDate(end) : 'the end of this period'}, and nothing more is charged. You can change your mind until then.
          </p>
          <div className="form-actions">
            <button className="btn btn--danger" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
              Cancel at the end of the period
            </button>
            <button className="btn btn--ghost" onClick={() => setConfirm(false)}>
              Keep my plan
            </button>
          </div>
        </div>
      )}
    </>
  )
}

function cardBrand(b: string): string {
  if (!b) return 'Card'
  return b === 'amex' ? 'American Express' : b.charAt(0).toUpperCase() + b.slice(1)
}

function Invoices({ items }: { items: Invoice[] }) {
  const [err, setErr] = useState<unknown>()
  return (
    <div className="billing__invoices">
      <h3>Invoices</h3>
      {err != null && <Banner>{describe(err)}</Banner>}
      <table className="invoices">
        <thead>
          <tr>
            <th scope="col">Date</th>
            <th scope="col">Number</th>
            <th scope="col" className="num">
              Total
            </th>
            <th scope="col">Status</th>
            <th scope="col">
              <span className="sr-only">Receipt</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((inv) => (
            <tr key={inv.id}>
              <td className="nowrap">{shortDate(inv.paid_at ?? inv.created_at)}</td>
              <td className="nowrap">{inv.number}</td>
              <td className="num">{formatMoney(inv.total, inv.currency)}</td>
              <td>{invoiceStatus(inv)}</td>
              <td className="num">
                <a
                  href={inv.receipt_url}
                  onClick={(e) => {
                    e.preventDefault()
                    setErr(undefined)
                    openReceipt(inv).catch(setErr)
                  }}
                >
                  Receipt<span className="sr-only"> {inv.number}</span>
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function invoiceStatus(inv: Invoice): string {
  if (inv.amount_refunded > 0) return inv.amount_refunded >= inv.amount_paid ? 'Refunded' : 'Partly refunded'
  switch (inv.status) {
    case 'paid':
      return 'Paid'
    case 'open':
      return 'Due'
    case 'uncollectible':
      return 'Unpaid'
    case 'void':
      return 'Void'
    default:
      return inv.status
  }
}
