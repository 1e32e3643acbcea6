import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { api, tokens } from './client'

const json = (body: object, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
const problem = (status: number, code: string) =>
  new Response(JSON.stringify({ status, code, detail: code, title: '', type: '' }), { status, headers: { 'Content-Type': 'application/problem+json' } })
const tokensBody = (access: string) => ({ access_token: access, token_type: 'Bearer' as const, expires_in: 900, session: { id: 's1', device_name: 'x', device_kind: 'web' as const, profile_id: 'p1' } })

describe('api', () => {
  beforeEach(() => {
    document.cookie = 'sf_csrf=csrf-123; path=/'
    tokens.accept(tokensBody('old'))
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    tokens.signOut()
  })

  it('refreshes once and retries a request refused with token_expired', async () => {
    const calls: { url: string; auth?: string; csrf?: string; body?: string }[] = []
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init: RequestInit) => {
        const h = init.headers as Record<string, string>
        calls.push({ url, auth: h.Authorization, csrf: h['X-CSRF-Token'], body: init.body as string })
        if (url.endsWith('/auth/refresh')) return json(tokensBody('new'))
        return h.Authorization === 'Bearer old' ? problem(401, 'token_expired') : json({ items: [] })
      }),
    )
    await expect(api('/profiles')).resolves.toEqual({ items: [] })
    expect(calls).toEqual([
      { url: '/api/v1/profiles', auth: 'Bearer old', csrf: undefined, body: undefined },
      { url: '/api/v1/auth/refresh', auth: undefined, csrf: 'csrf-123', body: '{}' },
      { url: '/api/v1/profiles', auth: 'Bearer new', csrf: undefined, body: undefined },
    ])
    expect(tokens.token).toBe('new')
  })

  it('signs out cleanly when the session was revoked', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => (url.endsWith('/auth/refresh') ? problem(401, 'session_revoked') : problem(401, 'session_revoked'))),
    )
    await expect(api('/profiles')).rejects.toMatchObject({ status: 401, code: 'session_revoked' })
    expect(tokens.getState()).toEqual({ status: 'signed-out', reason: 'revoked' })
    expect(tokens.token).toBeNull()
  })

  it('does not refresh for other errors', async () => {
    const f = vi.fn(async () => problem(404, 'title_not_found'))
    vi.stubGlobal('fetch', f)
    await expect(api('/titles/x')).rejects.toMatchObject({ status: 404 })
    expect(f).toHaveBeenCalledTimes(1)
    expect(tokens.token).toBe('old')
  })
})
