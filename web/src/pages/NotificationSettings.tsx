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
  // change shows the new value in the same event that asked for it: the box
  // is controlled, so an update left for later (TanStack's onMutate runs
  // after a microtask) lets React put the old value back first, and the
  // click looks like it did nothing. A failed save puts the old list back.
  const change = (c: Change) => {
    const before = qc.getQueryData<Preference[]>(key)
    void qc.cancelQueries({ queryKey: key })
    qc.setQueryData<Preference[]>(key, (list) => list?.map((p) => (p.kind === c.kind ? { ...p, ...c } : p)))
    save.mutate(c, { onError: () => qc.setQueryData(key, before) })
  }

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
            {sorted(prefs.data).map((p) => {
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
