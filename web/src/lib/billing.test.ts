import { describe, expect, it } from 'vitest'
import type { Subscription } from '../api/models'
import { entitled, formatMoney, perInterval, playAction, qualityLabel, showPastDueBanner, statusLabel } from './billing'

function sub(status: string, extra: Partial<Subscription> = {}): Subscription {
  return {
    id: 'sub_1',
    status,
    cancel_at_period_end: false,
    created_at: '2026-12-01T00:00:00Z',
    current_period_start: '2026-12-01T00:00:00Z',
    current_period_end: '2027-01-01T00:00:00Z',
    entitlement: { active: status !== 'canceled', max_height: 1080, max_streams: 2 },
    plan: { code: 'standard', name: 'Standard', interval: 'month', max_height: 1080, max_streams: 2, trial_days: 0, active: true, price: { id: 2, version: 1, amount: 1199, currency: 'EUR', display: '€11.99' } },
    ...extra,
  }
}

describe('formatMoney', () => {
  it('shows minor units as the currency’s major unit', () => {
    expect(formatMoney(799, 'EUR', 'en-US')).toBe('€7.99')
    expect(formatMoney(1999, 'usd', 'en-US')).toBe('$19.99')
    expect(formatMoney(1000, 'GBP', 'en-GB')).toBe('£10.00')
    expect(formatMoney(5, 'EUR', 'en-US')).toBe('€0.05')
    expect(formatMoney(0, 'EUR', 'en-US')).toBe('€0.00')
  })
  it('knows currencies without minor units, or with three', () => {
    expect(formatMoney(1200, 'JPY', 'en-US')).toBe('¥1,200')
    expect(formatMoney(1234, 'KWD', 'en-US')).toBe('KWD\u00a01.234')
  })
  it('writes negative amounts (proration credits) with a sign', () => {
    expect(formatMoney(-350, 'EUR', 'en-US')).toBe('-€3.50')
  })
  it('follows the reader’s locale', () => {
    expect(formatMoney(799, 'EUR', 'de-DE')).toBe('7,99\u00a0€')
  })
  it('falls back to the code for a currency Intl does not know', () => {
    expect(formatMoney(799, 'X1', 'en-US')).toBe('7.99 X1')
  })
  it('adds the interval', () => {
    expect(perInterval(1199, 'EUR', 'month', 'en-US')).toBe('€11.99 / month')
  })
})

describe('qualityLabel', () => {
  it('names the seeded heights', () => {
    expect(qualityLabel(720)).toBe('HD (720p)')
    expect(qualityLabel(1080)).toBe('Full HD (1080p)')
    expect(qualityLabel(2160)).toBe('4K Ultra HD')
    expect(qualityLabel(480)).toBe('480p')
  })
})

describe('entitlement and the paywall', () => {
  it('lets active, trialing and past_due subscriptions watch', () => {
    for (const s of ['active', 'trialing', 'past_due']) expect(entitled(sub(s))).toBe(true)
    for (const s of ['incomplete', 'canceled']) expect(entitled(sub(s))).toBe(false)
    expect(entitled(null)).toBe(false)
  })
  it('offers the plans where Play is to a viewer who may not watch', () => {
    expect(playAction(true, null)).toBe('choose-plan')
    expect(playAction(false, null)).toBe('choose-plan')
    expect(playAction(true, sub('canceled'))).toBe('choose-plan')
    expect(playAction(true, sub('incomplete'))).toBe('choose-plan')
  })
  it('plays, or says coming soon, for an entitled viewer', () => {
    expect(playAction(true, sub('active'))).toBe('play')
    expect(playAction(true, sub('past_due'))).toBe('play')
    expect(playAction(false, sub('trialing'))).toBe('coming-soon')
  })
  it('waits while the subscription is loading', () => {
    expect(playAction(true, undefined)).toBe('wait')
  })
})

describe('the past-due banner', () => {
  it('shows only while a payment is overdue', () => {
    expect(showPastDueBanner(sub('past_due'))).toBe(true)
    for (const s of ['active', 'trialing', 'canceled', 'incomplete']) expect(showPastDueBanner(sub(s))).toBe(false)
    expect(showPastDueBanner(null)).toBe(false)
    expect(showPastDueBanner(undefined)).toBe(false)
  })
})

describe('statusLabel', () => {
  it('says a subscription scheduled to end is ending', () => {
    expect(statusLabel(sub('active'))).toBe('Active')
    expect(statusLabel(sub('active', { cancel_at_period_end: true }))).toBe('Ending')
    expect(statusLabel(sub('past_due'))).toBe('Payment overdue')
  })
})
