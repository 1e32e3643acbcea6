import { describe, expect, it } from 'vitest'
import { ApiError } from '../api/http'
import type { Tokens } from '../api/models'
import { REFRESH_LEAD_MS, RETRY_MS, TokenManager, type AuthMessage, type Channel, type Clock, type Locks } from './tokens'

// FakeClock runs timers when the test advances time.
class FakeClock implements Clock {
  t = 1_000_000
  private seq = 0
  private timers = new Map<number, { at: number; fn: () => void }>()
  now = () => this.t
  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.seq
    this.timers.set(id, { at: this.t + ms, fn })
    return id
  }
  clearTimeout = (h: unknown) => {
    this.timers.delete(h as number)
  }
  async advance(ms: number) {
    const end = this.t + ms
    for (;;) {
      const due = [...this.timers.entries()].filter(([, v]) => v.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
      if (!due) break
      this.timers.delete(due[0])
      this.t = due[1].at
      due[1].fn()
      await settle()
    }
    this.t = end
    await settle()
  }
}

// settle lets pending promise callbacks and queued messages run.
async function settle() {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setTimeout(r, 0))
}

// FakeServer rotates the refresh cookie like the API does: every refresh
// needs the current cookie; presenting an old one revokes the session.
class FakeServer {
  cookie = 1
  refreshes = 0
  revoked = false
  offline = false
  latency = 5
  private issued = 0
  async refresh(): Promise<Tokens> {
    const presented = this.cookie // the browser sends the cookie it holds now
    await new Promise((r) => setTimeout(r, this.latency))
    if (this.offline) throw new ApiError(0, 'offline', 'offline')
    this.refreshes++
    if (this.revoked) throw new ApiError(401, 'session_revoked', 'This session has been signed out.')
    if (presented !== this.cookie) {
      this.revoked = true
      throw new ApiError(401, 'refresh_token_reused', 'reused')
    }
    this.cookie++
    return tokensFor(`access-${++this.issued}`)
  }
}

function tokensFor(access: string, expiresIn = 900, profile?: string): Tokens {
  return { access_token: access, token_type: 'Bearer', expires_in: expiresIn, session: { id: 's1', device_name: 'Chrome on Linux', device_kind: 'web', profile_id: profile } }
}

// Bus connects the tabs' channels; messages arrive asynchronously, as
// BroadcastChannel's do, and not at the sender.
class Bus {
  private members: ((m: AuthMessage) => void)[] = []
  channel(): Channel {
    let fn: ((ev: MessageEvent<AuthMessage>) => void) | null = null
    const self = (m: AuthMessage) => fn?.({ data: m } as MessageEvent<AuthMessage>)
    this.members.push(self)
    return {
      postMessage: (m) => {
        for (const other of this.members) if (other !== self) setTimeout(() => other(structuredClone(m)), 0)
      },
      addEventListener: (_t, f) => {
        fn = f
      },
      close: () => {
        this.members = this.members.filter((x) => x !== self)
      },
    }
  }
}

// SharedLocks is one browser's Web Locks: exclusive, first come first served.
class SharedLocks implements Locks {
  private tail: Promise<unknown> = Promise.resolve()
  request<T>(_name: string, fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn)
    this.tail = run.catch(() => undefined)
    return run
  }
}

interface Tab {
  m: TokenManager
  states: string[]
}

function setup(opts: { tabs?: number; locks?: boolean } = {}) {
  const clock = new FakeClock()
  const server = new FakeServer()
  const bus = new Bus()
  const locks = opts.locks === false ? null : new SharedLocks()
  const tabs: Tab[] = []
  for (let i = 0; i < (opts.tabs ?? 1); i++) {
    const m = new TokenManager({ refresh: () => server.refresh(), clock, locks, channel: bus.channel() })
    const tab: Tab = { m, states: [] }
    m.subscribe((s) => tab.states.push(s.status === 'signed-in' ? 'in' : `out:${s.reason ?? ''}`))
    tabs.push(tab)
  }
  return { clock, server, tabs, tab: tabs[0] }
}

describe('TokenManager', () => {
  it('refreshes a minute before the token expires, not earlier', async () => {
    const { clock, server, tab } = setup()
    tab.m.accept(tokensFor('first', 900))
    await clock.advance(900_000 - REFRESH_LEAD_MS - 1_000)
    expect(server.refreshes).toBe(0)
    expect(tab.m.token).toBe('first')
    await clock.advance(2_000)
    expect(server.refreshes).toBe(1)
    expect(tab.m.token).toBe('access-1')
    // and again before the new one expires
    await clock.advance(900_000)
    expect(server.refreshes).toBe(2)
    expect(tab.m.token).toBe('access-2')
  })

  it('refreshes short-lived tokens at four fifths of their life', async () => {
    const { clock, server, tab } = setup()
    tab.m.accept(tokensFor('short', 100))
    await clock.advance(79_000)
    expect(server.refreshes).toBe(0)
    await clock.advance(2_000)
    expect(server.refreshes).toBe(1)
  })

  it('makes one request for concurrent refreshes in a tab', async () => {
    const { server, tab } = setup({ locks: false })
    tab.m.accept(tokensFor('old'))
    const got = await Promise.all([tab.m.refresh('old'), tab.m.refresh('old'), tab.m.refresh('old')])
    expect(got).toEqual(['access-1', 'access-1', 'access-1'])
    expect(server.refreshes).toBe(1)
    expect(server.revoked).toBe(false)
  })

  it('returns the newer token instead of refreshing when a caller saw an old one refused', async () => {
    const { server, tab } = setup()
    tab.m.accept(tokensFor('old'))
    await tab.m.refresh('old')
    expect(await tab.m.refresh('old')).toBe('access-1')
    expect(server.refreshes).toBe(1)
  })

  it('keeps two tabs refreshing at once from reusing a refresh token', async () => {
    const { clock, server, tabs } = setup({ tabs: 2 })
    tabs[0].m.accept(tokensFor('shared', 900))
    await settle() // the other tab hears of it
    expect(tabs[1].m.token).toBe('shared')
    // Both tabs' timers fire together.
    await clock.advance(900_000)
    expect(server.revoked).toBe(false)
    expect(server.refreshes).toBe(1) // the second tab took the first one's token
    expect(tabs[0].m.token).toBe('access-1')
    expect(tabs[1].m.token).toBe('access-1')
    expect(tabs[1].states).not.toContain('out:revoked')
  })

  it('would sign out if two tabs refreshed without the lock (the hazard the lock prevents)', async () => {
    const { server, tabs } = setup({ tabs: 2, locks: false })
    const results = await Promise.all([tabs[0].m.refresh(null), tabs[1].m.refresh(null)])
    expect(server.revoked).toBe(true)
    expect(results).toContain(null)
  })

  it('starts a new tab from the cookie while another tab refreshes', async () => {
    const { server, tabs } = setup({ tabs: 2 })
    const [a, b] = await Promise.all([tabs[0].m.refresh(null), tabs[1].m.refresh(null)])
    expect(server.revoked).toBe(false)
    expect(a).toBeTruthy()
    expect(b).toBeTruthy()
  })

  it('signs out every tab when the server refuses the refresh', async () => {
    const { server, tabs } = setup({ tabs: 2 })
    tabs[0].m.accept(tokensFor('t'))
    await settle()
    server.revoked = true
    expect(await tabs[0].m.refresh('t')).toBeNull()
    await settle()
    expect(tabs[0].m.getState()).toEqual({ status: 'signed-out', reason: 'revoked' })
    expect(tabs[1].m.getState()).toEqual({ status: 'signed-out', reason: 'revoked' })
    expect(tabs[1].m.token).toBeNull()
  })

  it('keeps the session and retries when the server cannot be reached', async () => {
    const { clock, server, tab } = setup()
    tab.m.accept(tokensFor('t', 900))
    server.offline = true
    await clock.advance(900_000 - REFRESH_LEAD_MS + 1)
    expect(tab.m.getState().status).toBe('signed-in')
    expect(tab.m.token).toBe('t')
    server.offline = false
    await clock.advance(RETRY_MS)
    expect(tab.m.token).toBe('access-1')
  })

  it('throws offline errors to the caller without signing out', async () => {
    const { server, tab } = setup()
    tab.m.accept(tokensFor('t'))
    server.offline = true
    await expect(tab.m.refresh('t')).rejects.toMatchObject({ status: 0 })
    expect(tab.m.getState().status).toBe('signed-in')
  })

  it('does not use a token about to expire', async () => {
    const { clock, server, tab } = setup()
    server.offline = true
    tab.m.accept(tokensFor('t', 10))
    await clock.advance(6_000)
    expect(tab.m.token).toBeNull()
  })

  it('follows a profile switch made in another tab', async () => {
    const { tabs } = setup({ tabs: 2 })
    tabs[0].m.accept(tokensFor('t', 900))
    await settle()
    tabs[0].m.accept(tokensFor('kids-token', 900, 'p-kids'))
    await settle()
    expect(tabs[1].m.session?.profile_id).toBe('p-kids')
    expect(tabs[1].m.token).toBe('kids-token')
  })

  it('signs out in other tabs when the user signs out', async () => {
    const { tabs } = setup({ tabs: 2 })
    tabs[0].m.accept(tokensFor('t'))
    await settle()
    tabs[0].m.signOut('user')
    await settle()
    expect(tabs[1].m.getState()).toEqual({ status: 'signed-out', reason: 'user' })
  })
})
