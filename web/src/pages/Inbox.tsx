import { useInfiniteQuery } from '@tanstack/react-query'
import { describe } from '../api/http'
import type { Notification, Page } from '../api/models'
import { client } from '../api/client'
import { call } from '../auth/client'
import { useSessionId } from '../auth/session'
import { Banner } from '../components/Form'
import { NotificationItem } from '../components/Shell'
import { useDocumentTitle } from '../lib/hooks'
import { listKey, useDeleteNotification, useMarkAllRead, useNotificationList } from '../lib/notifications'

// Inbox lists every notification, newest first, 20 at a time.
export default function Inbox() {
  useDocumentTitle('Notifications')
  const sid = useSessionId()
  // The first page is the live one (the stream adds to it); older pages load on demand.
  const first = useNotificationList(20)
  const older = useInfiniteQuery({
    queryKey: [...listKey(sid), 'older', first.data?.next_cursor],
    queryFn: ({ pageParam }) => call<Page<Notification>>((headers) => client.GET('/api/v1/notifications', { headers, params: { query: { limit: 20, cursor: pageParam } } })),
    initialPageParam: first.data?.next_cursor ?? '',
    getNextPageParam: (p) => p.next_cursor || undefined,
    enabled: false,
  })
  const markAll = useMarkAllRead()
  const del = useDeleteNotification()
  const items = [...(first.data?.items ?? []), ...(older.data?.pages.flatMap((p) => p.items) ?? [])]
  const hasMore = older.data ? older.hasNextPage : !!first.data?.next_cursor

  return (
    <div className="page page--narrow">
      <div className="page__head">
        <h1 className="page__title">Notifications</h1>
        {items.some((n) => !n.read) && (
          <button className="btn btn--outline btn--small" onClick={() => markAll.mutate()} disabled={markAll.isPending}>
            Mark all read
          </button>
        )}
      </div>
      {first.error && <Banner>{describe(first.error)}</Banner>}
      {(markAll.error || del.error) && <Banner>{describe(markAll.error || del.error)}</Banner>}
      {first.isPending && (
        <div aria-busy="true">
          <div className="skeleton skeleton--line" />
          <div className="skeleton skeleton--line" />
        </div>
      )}
      {first.data && items.length === 0 && <p className="muted">No notifications yet. Sign-ins from new devices, account changes and new titles you may like show up here.</p>}
      <ul className="notif-list notif-list--page">
        {items.map((n) => (
          <NotificationItem key={n.id} n={n} onDelete={() => del.mutate(n.id)} />
        ))}
      </ul>
      {hasMore && (
        <button className="btn btn--outline" onClick={() => (older.data ? older.fetchNextPage() : older.refetch())} disabled={older.isFetching}>
          {older.isFetching ? 'Loading…' : 'Show older'}
        </button>
      )}
    </div>
  )
}
