import { ApiError } from '../api/http'
import type { SessionInfo, Tokens } from '../api/models'

// TokenManager keeps the access token in memory only and renews it through
// the refresh cookie, which page scripts cannot read:
//
//   - a timer refreshes shortly before the token expires;
//   - callers that got a 401 ask for a refresh and retry once;
//   - refreshes are single-flight within the tab, and serialised across
//     tabs with a Web Lock: the refresh token rotates on every use, and two
//     tabs presenting the same one would look like a replay and sign the
//     session out;
//   - a tab that refreshes tells the others (BroadcastChannel), which then
//     take the new access token instead of refreshing themselves;
//   - a refresh the server refuses (401: revoked, expired, reused) signs
//     out cleanly, in every tab.

export type SignOutReason = 'user' | 'revoked'

export type AuthState =
  | { status: 'signed-in'; session: SessionInfo }
  | { status: 'signed-out'; reason?: SignOutReason }

export type AuthMessage =
  | { type: 'tokens'; access_token: string; expires_at: number; session: SessionInfo }
  | { type: 'signed-out'; reason: SignOutReason }

export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export interface Locks {
  // request runs fn while holding the named exclusive lock.
  request<T>(name: string, fn: () => Promise<T>): Promise<T>
}

export interface Channel {
  postMessage(msg: AuthMessage): void
  addEventListener(type: 'message', fn: (ev: MessageEvent<AuthMessage>) => void): void
  close(): void
}

export interface TokenManagerDeps {
  // refresh asks the server for new tokens with the refresh cookie; it
  // throws ApiError.
  refresh(): Promise<Tokens>
  clock?: Clock
  locks?: Locks | null
  channel?: Channel | null
}

// REFRESH_LEAD_MS is how long before expiry the timer refreshes (a fifth
// of the token's life when that is shorter).
export const REFRESH_LEAD_MS = 60_000
// RETRY_MS is how soon a scheduled refresh that could not reach the server
// tries again.
export const RETRY_MS = 15_000
// EXPIRY_SLACK_MS: a token this close to expiry is not used for a request.
export const EXPIRY_SLACK_MS = 5_000

export const LOCK_NAME = 'streamflix-refresh'
export const CHANNEL_NAME = 'streamflix-auth'

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
}

// browserLocks returns the Web Locks API, or null where it is missing.
export function browserLocks(): Locks | null {
  const l = typeof navigator !== 'undefined' ? navigator.locks : undefined
  if (!l) return null
  return { request: <T,>(name: string, fn: () => Promise<T>) => l.request(name, { mode: 'exclusive' }, fn) as Promise<T> }
}

export function browserChannel(): Channel | null {
  return typeof BroadcastChannel === 'undefined' ? null : (new BroadcastChannel(CHANNEL_NAME) as unknown as Channel)
}

export class TokenManager {
  private readonly deps: TokenManagerDeps
  private readonly clock: Clock
  private access: string | null = null
  private expiresAt = 0
  private lifetime = 0
  private sess: SessionInfo | null = null
  private state: AuthState = { status: 'signed-out' }
  private timer: unknown = null
  private inflight: Promise<string | null> | null = null
  private readonly listeners = new Set<(s: AuthState) => void>()

  constructor(deps: TokenManagerDeps) {
    this.deps = deps
    this.clock = deps.clock ?? realClock
    deps.channel?.addEventListener('message', (ev) => this.onMessage(ev.data))
  }

  // token returns the access token while it is usable, else null.
  get token(): string | null {
    if (!this.access || this.clock.now() >= this.expiresAt - EXPIRY_SLACK_MS) return null
    return this.access
  }

  get session(): SessionInfo | null {
    return this.sess
  }

  getState = (): AuthState => this.state

  subscribe = (fn: (s: AuthState) => void): (() => void) => {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  // accept takes tokens from login, profile selection or refresh.
  accept(t: Tokens): void {
    this.store(t.access_token, this.clock.now() + t.expires_in * 1000, t.session)
    this.deps.channel?.postMessage({ type: 'tokens', access_token: this.access!, expires_at: this.expiresAt, session: t.session })
  }

  // refresh gets a new access token and returns it, or null when the
  // session is over (then the state is signed-out). stale is the token a
  // caller saw refused: if the token has changed since, that one is
  // returned without asking the server. It throws ApiError when the server
  // could not be reached or failed; the session is kept then.
  refresh(stale?: string | null): Promise<string | null> {
    if (this.inflight) return this.inflight
    const run = async (): Promise<string | null> => {
      // Another tab may have refreshed while this one waited for the lock.
      const current = this.token
      if (current && current !== stale && (stale !== undefined || this.expiresAt - this.clock.now() > this.lead())) {
        return current
      }
      try {
        const t = await this.deps.refresh()
        this.accept(t)
        return t.access_token
      } catch (e) {
        if (e instanceof ApiError && (e.status === 401 || e.code === 'csrf_failed')) {
          this.signOut(this.state.status === 'signed-in' ? 'revoked' : undefined)
          return null
        }
        throw e
      }
    }
    const locks = this.deps.locks
    const p = (locks ? locks.request(LOCK_NAME, run) : run()).finally(() => {
      this.inflight = null
    })
    this.inflight = p
    return p
  }

  // signOut forgets the tokens here and in every other tab. The caller
  // tells the server (POST /auth/logout) when the user asked.
  signOut(reason?: SignOutReason): void {
    this.clear(reason)
    if (reason) this.deps.channel?.postMessage({ type: 'signed-out', reason })
  }

  dispose(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.timer = null
    this.deps.channel?.close()
    this.listeners.clear()
  }

  private lead(): number {
    return Math.min(REFRESH_LEAD_MS, this.lifetime / 5)
  }

  private store(access: string, expiresAt: number, session: SessionInfo): void {
    this.access = access
    this.lifetime = Math.max(0, expiresAt - this.clock.now())
    this.expiresAt = expiresAt
    this.sess = session
    this.schedule(Math.max(0, expiresAt - this.clock.now() - this.lead()))
    const prev = this.state
    if (prev.status !== 'signed-in' || prev.session.id !== session.id || prev.session.profile_id !== session.profile_id) {
      this.setState({ status: 'signed-in', session })
    }
  }

  private schedule(ms: number): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.timer = this.clock.setTimeout(() => {
      this.timer = null
      this.refresh().catch(() => {
        // Offline or a server error: try again soon, while it can still help.
        if (this.access && this.clock.now() < this.expiresAt + RETRY_MS) this.schedule(RETRY_MS)
      })
    }, ms)
  }

  private clear(reason?: SignOutReason): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.timer = null
    this.access = null
    this.expiresAt = 0
    this.sess = null
    this.setState({ status: 'signed-out', reason })
  }

  private onMessage(m: AuthMessage): void {
    if (m.type === 'tokens') {
      // A newer token from another tab (same session, same cookie).
      if (m.expires_at > this.expiresAt || m.session.profile_id !== this.sess?.profile_id) {
        this.store(m.access_token, m.expires_at, m.session)
      }
    } else if (m.type === 'signed-out') {
      this.clear(m.reason)
    }
  }

  private setState(s: AuthState): void {
    this.state = s
    for (const fn of this.listeners) fn(s)
  }
}
