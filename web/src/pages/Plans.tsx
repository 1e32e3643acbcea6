import { useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { Link, useNavigate, useSearchParams } from 'react-router'
import { describe } from '../api/http'
import type { Plan } from '../api/models'
import { useCurrentProfile, useSessionId } from '../auth/session'
import { Banner } from '../components/Form'
import { formatMoney, live, qualityLabel } from '../lib/billing'
import { useDocumentTitle } from '../lib/hooks'
import { changePlan, startCheckout, subscriptionKey, usePlans, useSubscription } from '../lib/subscription'

// Plans is the plan chooser: a new subscriber goes on to the provider's
// checkout; a subscriber switches plan here.
export default function Plans() {
  useDocumentTitle('Choose a plan')
  const [params] = useSearchParams()
  const profile = useCurrentProfile()
  const plans = usePlans()
  const sub = useSubscription()
  const sid = useSessionId()
  const qc = useQueryClient()
  const navigate = useNavigate()
  const [busy, setBusy] = useState('')
  const [error, setError] = useState<unknown>()
  const current = sub.data && live(sub.data) ? sub.data : undefined

  const choose = async (p: Plan) => {
    setBusy(p.code)
    setError(undefined)
    try {
      if (current) {
        const s = await changePlan(p.code)
        qc.setQueryData(subscriptionKey(sid), s)
        void qc.invalidateQueries({ queryKey: ['invoices'] })
        navigate('/account/billing', { state: { notice: s.pending_plan ? `You will move to ${p.name} on your next billing date.` : `You are now on ${p.name}.` } })
        return
      }
      await startCheckout(p.code) // the browser leaves for the checkout page
    } catch (e) {
      setError(e)
      setBusy('')
    }
  }

  return (
    <div className="page page--narrow page--plans">
      <h1 className="page__title">{current ? 'Change your plan' : 'Choose a plan'}</h1>
      <p className="muted plans__lead">
        {current ? 'An upgrade starts now and you pay only the difference for this period; a downgrade starts on your next billing date.' : 'Watch everything on streamflix. Cancel at any time.'}
      </p>
      {params.get('checkout') === 'canceled' && <Banner kind="info">Checkout was canceled, and nothing was charged. Choose a plan when you are ready.</Banner>}
      {profile?.kids && <Banner kind="info">A grown-up chooses the plan, from their own profile.</Banner>}
      {error != null && <Banner>{describe(error)}</Banner>}
      {plans.error && <Banner>{describe(plans.error)}</Banner>}
      {plans.isPending && <div className="plans">{[0, 1, 2].map((i) => <div key={i} className="plan skeleton" style={{ minHeight: 260 }} />)}</div>}
      {plans.data && (
        <ul className="plans" aria-label="Plans">
          {plans.data.map((p) => {
            const mine = current?.plan.code === p.code
            const pending = current?.pending_plan === p.code
            return (
              <li key={p.code} className={`plan${mine ? ' plan--current' : ''}`} aria-labelledby={`plan-${p.code}`}>
                <h2 id={`plan-${p.code}`} className="plan__name">
                  {p.name}
                </h2>
                <p className="plan__price">
                  <strong>{formatMoney(p.price.amount, p.price.currency)}</strong>
                  <span className="muted"> / {p.interval}</span>
                </p>
                {p.trial_days > 0 && <p className="tag tag--ok">{p.trial_days}-day free trial</p>}
                <ul className="plan__features">
                  <li>
                    {p.max_streams} screen{p.max_streams === 1 ? '' : 's'} at a time
                  </li>
                  <li>{qualityLabel(p.max_height)}</li>
                  <li>Every title, no ads</li>
                </ul>
                {mine ? (
                  <p className="plan__state">
                    <span className="tag tag--ok">Your plan</span>
                  </p>
                ) : pending ? (
                  <p className="plan__state">
                    <span className="tag">Starts on your next billing date</span>
                  </p>
                ) : (
                  <button className="btn btn--primary btn--block" onClick={() => choose(p)} disabled={!!busy || !!profile?.kids || sub.isPending} aria-busy={busy === p.code || undefined}>
                    {busy === p.code && <span className="spinner" aria-hidden="true" />}
                    {current ? `Switch to ${p.name}` : `Choose ${p.name}`}
                  </button>
                )}
              </li>
            )
          })}
        </ul>
      )}
      <p className="muted plans__note">
        Prices include any tax due. {current ? <Link to="/account/billing">Back to your account</Link> : 'You pay on the next page and can cancel before your next billing date.'}
      </p>
    </div>
  )
}
