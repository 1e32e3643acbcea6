import { client, unwrap, type Result } from '../api/client'
import { ApiError, send, type RequestOptions } from '../api/http'
import type { Tokens } from '../api/models'
import { TokenManager, browserChannel, browserLocks } from './tokens'

// The API sets sf_refresh (httpOnly: invisible here) and sf_csrf, which
// this page echoes in X-CSRF-Token to prove a refresh comes from it.
export const CSRF_COOKIE = 'sf_csrf'

export function csrfToken(): string {
  const m = document.cookie.match(/(?:^|;\s*)sf_csrf=([^;]*)/)
  return m ? decodeURIComponent(m[1]) : ''
}

// hasSession reports whether this browser holds a session to resume.
export const hasSession = () => csrfToken() !== ''

export function refreshWithCookie(): Promise<Tokens> {
  return unwrap(client.POST('/api/v1/auth/refresh', { body: {}, headers: { 'X-CSRF-Token': csrfToken() } }))
}

export const tokens = new TokenManager({ refresh: refreshWithCookie, locks: browserLocks(), channel: browserChannel() })

const signedOutError = () => new ApiError(401, 'signed_out', 'You are signed out. Sign in again.')

// withToken runs fn with the signed-in user's access token: it gets a new
// one when it has expired, and runs fn once more after a refresh when the
// token is refused (401). A refresh the server refuses signs out (tokens'
// state changes).
async function withToken<T>(fn: (token: string) => Promise<T>): Promise<T> {
  const token = tokens.token ?? (await tokens.refresh(null))
  if (!token) throw signedOutError()
  try {
    return await fn(token)
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e
    const fresh = await tokens.refresh(token)
    if (!fresh) throw e
    return fn(fresh)
  }
}

// call makes a typed API call as the signed-in user and returns its data
// (it throws ApiError): call((headers) => client.GET('/api/v1/profiles', { headers })).
export function call<T>(fn: (headers: { Authorization: string }) => Promise<Result<T>>): Promise<T> {
  return withToken((token) => unwrap(fn({ Authorization: 'Bearer ' + token })))
}

// api calls the API as the signed-in user by path under /api/v1, untyped;
// the app uses call, with the typed client.
export function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  return withToken((token) => send<T>(path, { ...opts, token }))
}

// deviceName names this browser in the list of signed-in devices.
export function deviceName(ua = navigator.userAgent): string {
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /OPR\//.test(ua)
      ? 'Opera'
      : /Firefox\//.test(ua)
        ? 'Firefox'
        : /Chrom(e|ium)\//.test(ua)
          ? 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : 'Browser'
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad/.test(ua)
      ? 'iOS'
      : /Mac OS X/.test(ua)
        ? 'macOS'
        : /Windows/.test(ua)
          ? 'Windows'
          : /CrOS/.test(ua)
            ? 'ChromeOS'
            : /Linux/.test(ua)
              ? 'Linux'
              : ''
  return os ? `${browser} on ${os}` : browser
}

export async function signIn(email: string, password: string): Promise<void> {
  const t = await unwrap(client.POST('/api/v1/auth/login', { body: { email, password, device: { name: deviceName(), kind: 'web' }, cookie: true } }))
  tokens.accept(t)
}

// signOut ends this session on the server (which clears the cookies) and
// here, in every tab. It signs out locally even when the server is out of
// reach: the user asked to leave.
export async function signOut(): Promise<void> {
  try {
    const token = tokens.token ?? (await tokens.refresh(null))
    if (token) await unwrap(client.POST('/api/v1/auth/logout', { headers: { Authorization: 'Bearer ' + token } }))
  } catch {
    // best effort
  }
  tokens.signOut('user')
}

export async function selectProfile(profileId: string, pin?: string): Promise<void> {
  const t = await call((headers) => client.POST('/api/v1/auth/profile', { headers, body: pin ? { profile_id: profileId, pin } : { profile_id: profileId } }))
  tokens.accept(t)
}
