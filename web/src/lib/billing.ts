// Billing's pure logic: money for people, and what a subscription lets
// the account do (watch, or be asked to fix its card).
import type { Subscription } from '../api/models'

// minorDigits is how many minor units a currency has (2 for EUR, 0 for JPY).
function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2
  } catch {
    return 2
  }
}

// formatMoney shows an amount in integer minor units of an ISO 4217
// currency, such as formatMoney(799, 'EUR') = "€7.99". Whole amounts keep
// their cents ("€10.00") so that prices line up.
export function formatMoney(amount: number, currency: string, locale?: string): string {
  const code = currency.toUpperCase()
  const digits = minorDigits(code)
  const major = amount / 10 ** digits
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency: code, minimumFractionDigits: digits, maximumFractionDigits: digits }).format(major)
  } catch {
    return `${major.toFixed(digits)} ${code}`
  }
}

// perInterval is "€7.99 / month".
export function perInterval(amount: number, currency: string, interval: string, locale?: string): string {
  return `${formatMoney(amount, currency, locale)} / ${interval}`
}

// qualityLabel names a maximum video height as people know it.
export function qualityLabel(height: number): string {
  if (height >= 2160) return '4K Ultra HD'
  if (height >= 1080) return 'Full HD (1080p)'
  if (height >= 720) return 'HD (720p)'
  return `${height}p`
}

// Statuses that may watch; past_due keeps access during the retry window.
const ENTITLED = new Set(['active', 'trialing', 'past_due'])

// entitled reports whether the account may watch. sub is null when the
// account has no subscription at all.
export function entitled(sub: Subscription | null | undefined): boolean {
  return !!sub && ENTITLED.has(sub.status)
}

// live is a subscription that is still running (checkout finished or
// paying): the account changes its plan rather than checking out again.
export function live(sub: Subscription | null | undefined): boolean {
  return !!sub && sub.status !== 'canceled' && sub.status !== 'incomplete' && sub.status !== 'incomplete_expired'
}

// showPastDueBanner: the banner asks for a new card while a renewal is overdue.
export function showPastDueBanner(sub: Subscription | null | undefined): boolean {
  return sub?.status === 'past_due'
}

// PlayAction is what stands where Play is on a title's page.
export type PlayAction = 'wait' | 'play' | 'coming-soon' | 'choose-plan'

// playAction: a viewer without an entitled subscription is offered the
// plans; an entitled one plays, or is told the title is coming soon.
// sub undefined means it is still loading.
export function playAction(playable: boolean, sub: Subscription | null | undefined): PlayAction {
  if (sub === undefined) return 'wait'
  if (!entitled(sub)) return 'choose-plan'
  return playable ? 'play' : 'coming-soon'
}

const STATUS_LABEL: Record<string, string> = {
  active: 'Active',
  trialing: 'Free trial',
  past_due: 'Payment overdue',
  canceled: 'Canceled',
  incomplete: 'Waiting for payment',
  incomplete_expired: 'Checkout expired',
}

export function statusLabel(sub: Subscription): string {
  if (sub.cancel_at_period_end && sub.status !== 'canceled') return 'Ending'
  return STATUS_LABEL[sub.status] ?? sub.status
}

// longDate is "4 January 2027" in the reader's locale.
export function longDate(iso: string, locale?: string): string {
  return new Date(iso).toLocaleDateString(locale, { year: 'numeric', month: 'long', day: 'numeric' })
}

// shortDate is "4 Jan 2027" in the reader's locale.
export function shortDate(iso: string, locale?: string): string {
  return new Date(iso).toLocaleDateString(locale, { year: 'numeric', month: 'short', day: 'numeric' })
}

// idempotencyKey names one money-moving operation for the server.
export function idempotencyKey(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  const b = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}
