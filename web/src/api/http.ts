import type { FieldError, Problem } from './models'

export const API_BASE = '/api/v1'

// ApiError is every failed call: a problem+json answer from the server, or
// (status 0) no answer at all because the network or the server is down.
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly fields: FieldError[]
  readonly requestId?: string
  readonly retryAfter?: number

  constructor(status: number, code: string, message: string, fields: FieldError[] = [], requestId?: string, retryAfter?: number) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.fields = fields
    this.requestId = requestId
    this.retryAfter = retryAfter
  }

  // offline is true when no answer came back (network down, server gone).
  get offline(): boolean {
    return this.status === 0
  }

  // unauthorized is a 401: the access token (or the session) is no good.
  get unauthorized(): boolean {
    return this.status === 401
  }
}

// apiErrorFrom turns an error response whose body has been parsed (body:
// the problem, or whatever else came back) into an ApiError.
export function apiErrorFrom(resp: Response, body: unknown): ApiError {
  const retryAfter = Number(resp.headers.get('Retry-After')) || undefined
  const p: Partial<Problem> = body && typeof body === 'object' ? (body as Partial<Problem>) : {}
  return new ApiError(
    resp.status,
    p.code ?? (resp.status >= 500 ? 'server_error' : 'http_' + resp.status),
    p.detail ?? resp.statusText,
    Array.isArray(p.errors) ? p.errors : [],
    p.request_id ?? resp.headers.get('X-Request-Id') ?? undefined,
    retryAfter,
  )
}

// problemError turns an error response into an ApiError.
export async function problemError(resp: Response): Promise<ApiError> {
  let body: unknown
  try {
    body = await resp.json()
  } catch {
    // not JSON (a proxy's error page): fall back to the status
  }
  return apiErrorFrom(resp, body)
}

export const offlineError = () =>
  new ApiError(0, 'offline', 'Could not reach streamflix. Check your connection and try again.')

export interface RequestOptions {
  method?: string
  body?: unknown
  token?: string
  headers?: Record<string, string>
  signal?: AbortSignal
}

// send makes one request and returns the parsed JSON (undefined for 204);
// it throws ApiError.
export async function send<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers }
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json'
  if (opts.token) headers.Authorization = 'Bearer ' + opts.token
  let resp: Response
  try {
    resp = await fetch(API_BASE + path, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      credentials: 'same-origin',
      signal: opts.signal,
    })
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e
    throw offlineError()
  }
  if (!resp.ok) throw await problemError(resp)
  if (resp.status === 204 || resp.headers.get('Content-Length') === '0') return undefined as T
  const text = await resp.text()
  return (text ? JSON.parse(text) : undefined) as T
}

// fieldFor maps an error code without a field to the form field it is about.
const codeField: Record<string, string> = {
  email_taken: 'email',
  invalid_credentials: 'password',
  wrong_password: 'password',
  wrong_pin: 'pin',
  pin_required: 'pin',
  profile_name_taken: 'name',
  reset_token_invalid: 'token',
  token_invalid: 'token',
}

// fieldErrors returns the error message for each form field from err: the
// problem's field errors, plus the field some codes are plainly about.
// Fields are named as the API names them ("new_password", "device.name").
export function fieldErrors(err: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (!(err instanceof ApiError)) return out
  for (const f of err.fields) {
    if (!out[f.field]) out[f.field] = f.message
  }
  const f = codeField[err.code]
  if (f && !out[f]) out[f] = err.message
  return out
}

// describe says in plain words what went wrong, for a banner above a form or
// in place of a page; field errors are shown next to their fields instead.
export function describe(err: unknown): string {
  if (!(err instanceof ApiError)) return 'Something went wrong. Try again.'
  if (err.offline) return 'Could not reach streamflix. Check your connection; nothing you typed is lost. Try again when you are back online.'
  if (err.status === 429) {
    const s = err.retryAfter ?? 0
    const wait = s > 90 ? `about ${Math.ceil(s / 60)} minutes` : s > 0 ? `${s} second${s === 1 ? '' : 's'}` : 'a moment'
    return `${err.message || 'Too many attempts.'} (You can try again in ${wait}.)`
  }
  if (err.status >= 500) {
    return `Something went wrong on our side, and it is not your fault. Try again in a moment.${err.requestId ? ` (Reference: ${err.requestId})` : ''}`
  }
  if (err.code === 'validation_failed') return 'Some fields need another look.'
  return err.message
}
