import { fetchEventSource, EventStreamContentType } from '@microsoft/fetch-event-source'
import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query'
import { useEffect } from 'react'
import { API_BASE, ApiError, problemError } from '../api/http'
import type { Notification, Page } from '../api/models'
import { client } from '../api/client'
import { call, tokens } from '../auth/client'
import { useSessionId } from '../auth/session'

export const unreadKey = (sid?: string) => ['unread', sid]
export const listKey = (sid?: string) => ['notifications', sid]

export function useUnread() {
  const sid = useSessionId()
  return useQuery({
    queryKey: unreadKey(sid),
    queryFn: () => call((headers) => client.GET('/api/v1/notifications/unread-count', { headers })).then((r) => r.unread),
    enabled: !!sid,
    staleTime: Infinity, // the stream keeps it current
  })
}

export function useNotificationList(limit = 20) {
  const sid = useSessionId()
  return useQuery({
    queryKey: [...listKey(sid), limit],
    queryFn: () => call<Page<Notification>>((headers) => client.GET('/api/v1/notifications', { headers, params: { query: { limit } } })),
    enabled: !!sid,
  })
}

// patchLists applies fn to every cached notification list.
function patchLists(qc: QueryClient, sid: string | undefined, fn: (items: Notification[]) => Notification[]) {
  qc.setQueriesData<Page<Notification>>({ queryKey: listKey(sid) }, (page) => (page ? { ...page, items: fn(page.items) } : page))
}

export function useMarkRead() {
  const sid = useSessionId()
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (id: string) => call((headers) => client.POST('/api/v1/notifications/{id}/read', { headers, params: { path: { id } } })),
    onSuccess: (n) => {
      patchLists(qc, sid, (items) => items.map((x) => (x.id === n.id ? n : x)))
      // The stream sends the new count too; this makes it immediate.
      qc.setQueryData<number>(unreadKey(sid), (c) => (c === undefined ? c : Math.max(0, c - 1)))
      void qc.invalidateQueries({ queryKey: unreadKey(sid) })
    },
  })
}

export function useMarkAllRead() {
  const sid = useSessionId()
  const qc = useQueryClient()
  return useMutation({
    mutationFn: () => call((headers) => client.POST('/api/v1/notifications/read-all', { headers })),
    onSuccess: () => {
      patchLists(qc, sid, (items) => items.map((x) => ({ ...x, read: true })))
      qc.setQueryData(unreadKey(sid), 0)
    },
  })
}

export function useDeleteNotification() {
  const sid = useSessionId()
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (id: string) => call((headers) => client.DELETE('/api/v1/notifications/{id}', { headers, params: { path: { id } } })),
    onSuccess: (_v, id) => {
      patchLists(qc, sid, (items) => items.filter((x) => x.id !== id))
      void qc.invalidateQueries({ queryKey: unreadKey(sid) })
    },
  })
}

class Fatal extends Error {}

// useLiveNotifications keeps the unread count and the inbox current from
// the server's event stream while signed in. The stream is read with fetch
// so that the access token goes in the Authorization header, never in a
// URL; it reconnects with Last-Event-ID and a fresh token.
export function useLiveNotifications() {
  const sid = useSessionId()
  const qc = useQueryClient()
  useEffect(() => {
    if (!sid) return
    const ctrl = new AbortController()
    let token: string | null = null
    void fetchEventSource(API_BASE + '/notifications/stream', {
      signal: ctrl.signal,
      openWhenHidden: false, // closed while the tab is hidden, resumed with Last-Event-ID
      fetch: async (input, init) => {
        token = tokens.token ?? (await tokens.refresh(null))
        if (!token) throw new Fatal('signed out')
        const headers = { ...(init?.headers as Record<string, string>), Authorization: 'Bearer ' + token }
        return fetch(input, { ...init, headers })
      },
      onopen: async (resp) => {
        if (resp.ok && resp.headers.get('content-type')?.startsWith(EventStreamContentType)) return
        const err = await problemError(resp)
        if (err.status === 401) {
          // Expired: refresh and reconnect; refused: the session is over.
          if (!(await tokens.refresh(token))) throw new Fatal('signed out')
          throw err
        }
        if (err.status >= 500 || err.status === 429) throw err // retried
        throw new Fatal(err.message)
      },
      onmessage: (ev) => {
        if (ev.event === 'unread') {
          const { unread } = JSON.parse(ev.data) as { unread: number }
          qc.setQueryData(unreadKey(sid), unread)
        } else if (ev.event === 'notification') {
          const n = JSON.parse(ev.data) as Notification
          patchLists(qc, sid, (items) => [n, ...items.filter((x) => x.id !== n.id)])
        }
      },
      onerror: (err) => {
        if (err instanceof Fatal) throw err // stop
        return err instanceof ApiError && err.retryAfter ? err.retryAfter * 1000 : 3000
      },
    }).catch(() => {
      // stopped: signed out, or aborted
    })
    return () => ctrl.abort()
  }, [sid, qc])
}
