// End-to-end test of billing in Chromium against the real binary and the
// sandbox provider (npm run e2e): the paywall, the plan chooser, the
// sandbox's hosted checkout with Stripe's 4242 test card, the receipt by
// email, a plan change and a cancellation. The tests run in order and
// share one account.
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { seed } from './catalog.mjs'
import { start, waitForMail, webDir } from './harness.mjs'

const shotsDir = join(webDir, 'screenshots')
const PASSWORD = 'copper-lantern-meadow-41'
const SIZES = { phone: { width: 390, height: 844 }, desktop: { width: 1440, height: 900 } }

let h
let ctx, page
let email

async function shoot(p, name) {
  mkdirSync(shotsDir, { recursive: true })
  const before = p.viewportSize()
  for (const [label, size] of Object.entries(SIZES)) {
    await p.setViewportSize(size)
    await p.waitForTimeout(150)
    await p.screenshot({ path: join(shotsDir, `${name}-${label}.png`) })
  }
  await p.setViewportSize(before)
}

before(async () => {
  h = await start()
  await seed(h.admin)
  ctx = await h.newContext()
  page = await ctx.newPage()
})

after(async () => {
  await h?.stop()
})

const billing = () => page.locator('section.billing')

// reloadUntil reloads the page until locator shows: the provider's events
// reach streamflix asynchronously, as Stripe's do.
async function reloadUntil(locator, tries = 30) {
  for (let i = 0; i < tries && !(await locator.count()); i++) {
    await page.waitForTimeout(1000)
    await page.reload()
    await billing().waitFor()
  }
  await locator.first().waitFor()
}

test('a new account meets the paywall, verifies, and is offered the plans', async () => {
  email = `grace.${h.id}@example.com`
  await page.goto('/signup')
  await page.getByLabel('Your name').fill('Grace')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
  await page.getByRole('button', { name: 'Create account' }).click()
  await page.getByRole('button', { name: 'Grace' }).click()
  await page.locator('.hero').waitFor()

  // Without a plan, Play on a title's page is replaced by the way to one.
  await page.getByRole('link', { name: 'Search' }).click()
  await page.getByRole('searchbox').fill('Lighthouse Keeper')
  await page.getByRole('list', { name: 'Results' }).getByRole('link', { name: /^The Lighthouse Keeper/ }).click()
  await page.getByRole('heading', { name: 'The Lighthouse Keeper', level: 1 }).waitFor()
  const paywall = page.getByRole('link', { name: 'Choose a plan to watch' })
  await paywall.waitFor()
  assert.equal(await page.getByText('Coming soon').count(), 0)
  assert.equal(await paywall.getAttribute('href'), '/plans')
  await shoot(page, 'paywall')

  const mail = await waitForMail(h, email, /verif/i)
  const link = mail.text.match(/https?:\/\/\S+\/verify-email\?token=[\w-]+/)?.[0]
  assert.ok(link, `no verification link in:\n${mail.text}`)
  await page.goto(link)
  await page.getByText(`Thank you: ${email} is verified.`).waitFor()
  await page.getByRole('link', { name: 'Choose a plan' }).click()

  await page.getByRole('heading', { name: 'Choose a plan', level: 1 }).waitFor()
  const plans = page.getByRole('list', { name: 'Plans' }).locator('> li')
  await plans.nth(2).waitFor()
  assert.deepEqual(await plans.locator('h2').allTextContents(), ['Basic', 'Standard', 'Premium'])
  const standard = plans.filter({ has: page.getByRole('heading', { name: 'Standard' }) })
  assert.match(await standard.innerText(), /€13\.99\s*\/ month/)
  assert.match(await standard.innerText(), /2 screens at a time/)
  assert.match(await standard.innerText(), /Full HD \(1080p\)/)
  await shoot(page, 'plans')
})

test('chooses Standard, pays on the sandbox checkout with 4242…, and gets a receipt', async () => {
  const checkout = page.waitForResponse((r) => r.url().endsWith('/api/v1/billing/checkout'))
  await page.getByRole('button', { name: 'Choose Standard' }).click()
  const req = (await checkout).request()
  assert.match(req.headers()['idempotency-key'] ?? '', /^[0-9a-f-]{32,36}$/)

  // The sandbox's hosted checkout page.
  await page.waitForURL(/\/billing\/sandbox\/checkout\//)
  await page.getByRole('heading', { name: /Subscribe to streamflix Standard/ }).waitFor()
  await page.getByLabel('Card number').fill('4242 4242 4242 4242')
  await page.getByLabel('Expiry (MM/YY)').fill('12/34')
  await page.getByLabel('CVC').fill('123')
  await shoot(page, 'sandbox-checkout')
  await page.getByRole('button', { name: 'Subscribe' }).click()

  // Back in the app: the account page's billing section, once the event lands.
  await page.waitForURL(/\/account\/billing\?checkout=success/)
  await page.getByText('Thank you: your payment went through and your plan is active.').waitFor({ timeout: 30000 })
  await billing().locator('.billing__plan', { hasText: 'Standard' }).waitFor()
  await billing().getByText('Active', { exact: true }).waitFor()
  assert.match(await billing().getByTestId('next-charge').innerText(), /^€13\.99 on /)
  await billing().getByText('Visa ending in 4242').waitFor()
  const invoices = billing().locator('table.invoices tbody tr')
  await invoices.first().waitFor()
  assert.match(await invoices.first().innerText(), /€13\.99/)
  assert.match(await invoices.first().innerText(), /Paid/)
  await shoot(page, 'billing-active')

  const receipt = await waitForMail(h, email, /receipt/i, 30000)
  assert.match(receipt.text, /13[.,]99/)

  // The receipt opens in a new tab.
  const [tab] = await Promise.all([ctx.waitForEvent('page'), invoices.first().getByRole('link', { name: /^Receipt/ }).click()])
  await tab.getByRole('heading', { name: /^Receipt / }).waitFor()
  assert.match(await tab.content(), /€13\.99/)
  await tab.close()

  // The paywall is gone: the title page offers Play (or says it is coming).
  await page.goto('/search?q=Lighthouse%20Keeper')
  await page.getByRole('list', { name: 'Results' }).getByRole('link', { name: /^The Lighthouse Keeper/ }).click()
  await page.getByRole('button', { name: 'Play' }).waitFor()
  assert.equal(await page.getByRole('link', { name: 'Choose a plan to watch' }).count(), 0)
})

test('switches to Premium, then cancels at the period end and takes it back', async () => {
  await page.goto('/account')
  await billing().getByRole('link', { name: 'Change plan' }).click()
  await page.getByRole('heading', { name: 'Change your plan', level: 1 }).waitFor()
  await page.getByText('Your plan', { exact: true }).waitFor()
  await page.getByRole('button', { name: 'Switch to Premium' }).click()
  await page.waitForURL(/\/account\/billing$/)
  await page.getByText('You are now on Premium.').waitFor()
  await billing().locator('.billing__plan', { hasText: 'Premium' }).waitFor()
  await waitForMail(h, email, /plan is now Premium/, 30000)

  await billing().getByRole('button', { name: 'Cancel plan' }).click()
  await billing().getByRole('button', { name: 'Cancel at the end of the period' }).click()
  const ends = billing().getByTestId('ends-on')
  await ends.waitFor()
  assert.match(await ends.innerText(), /^Ends on \w.* \d{4}\. You can watch until then\.$/)
  await billing().getByText('Ending', { exact: true }).waitFor()
  await shoot(page, 'billing-canceling')

  await billing().getByRole('button', { name: 'Keep my plan' }).click()
  await billing().getByTestId('next-charge').waitFor()
  assert.equal(await ends.count(), 0)
})

test('a failed renewal shows the past-due banner, which leads to the portal to fix the card', async () => {
  // Switch to the card that fails every renewal, through the portal.
  await page.goto('/account/billing')
  await billing().getByRole('button', { name: 'Manage payment method' }).click()
  await page.waitForURL(/\/billing\/sandbox\/portal\//)
  await page.getByRole('heading', { name: 'Manage your streamflix subscription' }).waitFor()
  await page.getByLabel('Card number').fill('4000 0000 0000 0341')
  await page.getByLabel('Expiry (MM/YY)').fill('12/34')
  await page.getByLabel('CVC').fill('123')
  await page.getByRole('button', { name: 'Update card' }).click()
  await page.waitForURL(/\/account\/billing$/)
  await reloadUntil(billing().getByText('Visa ending in 0341'))

  // A month later the renewal fails: the account is past due, still entitled.
  await h.admin('POST', '/admin/billing/clock/advance', { duration: '32d' })
  await waitForMail(h, email, /payment for streamflix failed/, 30000)
  const banner = page.locator('.pastdue-banner')
  await reloadUntil(banner)
  await banner.getByText('Your last payment did not go through.').waitFor()
  await billing().getByText('Payment overdue', { exact: true }).waitFor()
  await page.evaluate(() => window.scrollTo(0, 0))
  await shoot(page, 'billing-past-due')
  await page.goto('/')
  await banner.waitFor()
  await page.locator('.hero').waitFor()
  await shoot(page, 'home-past-due')
  await banner.getByRole('button', { name: 'Update card' }).click()
  await page.waitForURL(/\/billing\/sandbox\/portal\//)
})
