import { useEffect, useState } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { describe } from '../api/http'
import type { Preference, PreferenceChange } from '../api/models'
import { client } from '../api/client'
import { call } from '../auth/client'
import { useSessionId } from '../auth/session'
import { Banner } from '../components/Form'
import { useDocumentTitle } from '../lib/hooks'

const names: Record<string, [string, string]> = {
  new_content: ['New titles', 'Films and series you may like, when they arrive.'],
  new_sign_in: ['New sign-ins', 'When your account is used on a new device.'],
  password_changed: ['Password changes', 'When your password is changed.'],
  password_reset: ['Password reset links', 'Links you ask for to choose a new password.'],
  email_verification: ['Email verification', 'Links that confirm your email address.'],
  email_change: ['Email address changes', 'Links that confirm a new email address.'],
  account_deleted: ['Account deletion', 'Confirmation that your account was deleted.'],
}

function label(kind: string): [string, string] {
  return names[kind] ?? [kind.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()), '']
}

type Change = PreferenceChange & { email?: boolean; in_app?: boolean }

// sorted puts what the user can change first.
const sorted = (ps: Preference[]) => [...ps].sort((a, b) => Number(a.essential) - Number(b.essential))

// without drops the entries whose kind drop says to, keeping the same
// object when nothing goes so React skips the render.
function without(all: Record<string, Change>, drop: (kind: string) => boolean): Record<string, Change> {
  const keep = Object.entries(all).filter(([k]) => !drop(k))
  return keep.length === Object.keys(all).length ? all : Object.fromEntries(keep)
}

export default function NotificationSettings() {
  useDocumentTitle('Notification settings')
  const sid = useSessionId()
  const qc = useQueryClient()
  const key = ['preferences', sid]
  const prefs = useQuery({ queryKey: key, queryFn: () => call((headers) => client.GET('/api/v1/notification-preferences', { headers })).then((r): Preference[] => r.items) })
  const save = useMutation({
    mutationFn: (change: Change) =>
      call((headers) => client.PUT('/api/v1/notification-preferences', { headers, body: { items: [change] } })).then((r): Preference[] => r.items),
    onSuccess: (items) => qc.setQueryData(key, items),
  })
  // pending holds the choices not yet in the cached list, kept in React
  // state so the box shows its new value in the click's own render: the box
  // is controlled, and a cache update (TanStack notifies observers on a
  // later tick) would let React put the old value back first, so the click
  // would look like it did nothing. A choice leaves pending once the list
  // shows it, or when its save fails (the box goes back).
  const [pending, setPending] = useState<Record<string, Change>>({})
  const change = (c: Change) => {
    setPending((all) => ({ ...all, [c.kind]: { ...all[c.kind], ...c } }))
    save.mutate(c, { onError: () => setPending((all) => without(all, (k) => k === c.kind)) })
  }
  useEffect(() => {
    const list = prefs.data ?? []
    const applied = (kind: string, c: Change) => {
      const p = list.find((x) => x.kind === kind)
      return p !== undefined && (c.email === undefined || c.email === p.email) && (c.in_app === undefined || c.in_app === p.in_app)
    }
    setPending((all) => without(all, (k) => applied(k, all[k])))
  }, [prefs.data])
  const shown = (p: Preference): Preference => ({ ...p, ...pending[p.kind] })

  return (
    <div className="page page--narrow">
      <h1 className="page__title">Notification settings</h1>
      <p className="muted">Choose what reaches you by email and in the notifications inbox. Account and security messages always reach you.</p>
      {prefs.error && <Banner>{describe(prefs.error)}</Banner>}
      {save.error && <Banner>{describe(save.error)}</Banner>}
      {prefs.isPending && <div className="skeleton skeleton--line" aria-busy="true" />}
      {prefs.data && (
        <table className="prefs">
          <thead>
            <tr>
              <th scope="col">Notification</th>
              <th scope="col">Email</th>
              <th scope="col">In the app</th>
            </tr>
          </thead>
          <tbody>
            {sorted(prefs.data).map(shown).map((p) => {
              const [name, about] = label(p.kind)
              return (
                <tr key={p.kind}>
                  <th scope="row">
                    <span className="prefs__name">{name}</span>
                    {about && <span className="prefs__about">{about}</span>}
                    {p.essential && <span className="tag">Always on</span>}
                  </th>
                  <td>
                    <input type="checkbox" aria-label={`${name} by email`} checked={p.email} disabled={p.essential} onChange={(e) => change({ kind: p.kind, email: e.target.checked })} />
                  </td>
                  <td>
                    {p.has_in_app ? (
                      <input type="checkbox" aria-label={`${name} in the app`} checked={p.in_app} disabled={p.essential} onChange={(e) => change({ kind: p.kind, in_app: e.target.checked })} />
                    ) : (
                      <span className="muted" aria-label="Not sent in the app">
                        —
                      </span>
                    )}
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      )}
    </div>
  )
}
