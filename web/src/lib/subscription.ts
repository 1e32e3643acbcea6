// Billing's data: plans, the account's subscription and invoices, and the
// trips to the provider's hosted pages (checkout, portal).
import { useQuery } from '@tanstack/react-query'
import { client } from '../api/client'
import { ApiError } from '../api/http'
import type { Invoice, Plan, Subscription } from '../api/models'
import { call } from '../auth/client'
import { useSessionId } from '../auth/session'
import { idempotencyKey } from './billing'

export function usePlans() {
  return useQuery({
    queryKey: ['plans'],
    queryFn: () => call((headers) => client.GET('/api/v1/plans', { headers })).then((r): Plan[] => r.items),
    staleTime: 5 * 60_000,
  })
}

// fetchSubscription is the account's subscription, or null when it has none (404).
export async function fetchSubscription(): Promise<Subscription | null> {
  try {
    return await call((headers) => client.GET('/api/v1/subscription', { headers }))
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null
    throw e
  }
}

export const subscriptionKey = (sid: string | undefined) => ['subscription', sid]

// useSubscription: data is null when there is none, undefined while loading.
export function useSubscription(opts: { poll?: boolean } = {}) {
  const sid = useSessionId()
  return useQuery({
    queryKey: subscriptionKey(sid),
    queryFn: fetchSubscription,
    enabled: !!sid,
    staleTime: 30_000,
    refetchInterval: opts.poll ? 1000 : false,
  })
}

export function useInvoices(enabled: boolean) {
  const sid = useSessionId()
  return useQuery({
    queryKey: ['invoices', sid],
    queryFn: () => call((headers) => client.GET('/api/v1/billing/invoices', { headers })).then((r): Invoice[] => r.items),
    enabled: !!sid && enabled,
  })
}

// startCheckout asks for a hosted checkout of plan and goes there.
export async function startCheckout(plan: string): Promise<void> {
  const r = await call((headers) => client.POST('/api/v1/billing/checkout', { headers, params: { header: { 'Idempotency-Key': idempotencyKey() } }, body: { plan } }))
  window.location.assign(r.checkout_url)
}

// openPortal goes to the provider's customer portal (change the card).
export async function openPortal(): Promise<void> {
  const r = await call((headers) => client.POST('/api/v1/billing/portal', { headers }))
  window.location.assign(r.url)
}

export function changePlan(plan: string): Promise<Subscription> {
  return call((headers) => client.POST('/api/v1/subscription/change', { headers, params: { header: { 'Idempotency-Key': idempotencyKey() } }, body: { plan } }))
}

export function cancelSubscription(): Promise<Subscription> {
  return call((headers) => client.POST('/api/v1/subscription/cancel', { headers, params: { header: { 'Idempotency-Key': idempotencyKey() } } }))
}

export function resumeSubscription(): Promise<Subscription> {
  return call((headers) => client.POST('/api/v1/subscription/resume', { headers, params: { header: { 'Idempotency-Key': idempotencyKey() } } }))
}

// openReceipt shows an invoice's HTML receipt in a new tab. The receipt
// needs the access token, which a plain link cannot send: the tab opens at
// once (so that no pop-up blocker stops it) and gets the page when it comes.
export async function openReceipt(inv: Invoice): Promise<void> {
  const tab = window.open('', '_blank')
  try {
    const html = await call((headers) =>
      client.GET('/api/v1/billing/invoices/{id}/receipt', { headers: { ...headers, Accept: 'text/html' }, params: { path: { id: inv.id } }, parseAs: 'text' }),
    )
    const url = URL.createObjectURL(new Blob([html as unknown as string], { type: 'text/html' }))
    if (tab) tab.location.href = url
    else window.location.assign(url)
    setTimeout(() => URL.revokeObjectURL(url), 60_000)
  } catch (e) {
    tab?.close()
    throw e
  }
}
