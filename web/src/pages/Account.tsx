import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { Link, useNavigate } from 'react-router'
import { describe } from '../api/http'
import type { Session } from '../api/models'
import { client } from '../api/client'
import { call, tokens } from '../auth/client'
import { useAccount, useCurrentProfile, useSessionId } from '../auth/session'
import { Banner, Field, Submit, useForm } from '../components/Form'
import { BillingSection } from './Billing'
import { Icon } from '../components/Icon'
import { timeAgo, useDocumentTitle } from '../lib/hooks'
import { collect, email, newPassword, required } from '../lib/validate'

export default function Account() {
  useDocumentTitle('Account')
  const profile = useCurrentProfile()
  const { data: account, error, refetch } = useAccount()
  if (profile?.kids) {
    return (
      <div className="page page--narrow">
        <h1 className="page__title">Account</h1>
        <p className="muted">The account is managed from a grown-up's profile.</p>
        <Link className="btn btn--primary" to="/profiles">
          Switch profile
        </Link>
      </div>
    )
  }
  return (
    <div className="page page--narrow">
      <h1 className="page__title">Account</h1>
      {error && (
        <>
          <Banner>{describe(error)}</Banner>
          <button className="btn btn--primary" onClick={() => refetch()}>
            Try again
          </button>
        </>
      )}
      <BillingSection />
      {account && (
        <>
          <section className="panel" aria-labelledby="acct-email">
            <h2 id="acct-email">Email</h2>
            <p className="panel__value">
              {account.email}{' '}
              {account.email_verified ? <span className="tag tag--ok">Verified</span> : <span className="tag tag--warn">Not verified yet</span>}
            </p>
            <p className="muted">Member since {new Date(account.created_at).toLocaleDateString(undefined, { year: 'numeric', month: 'long' })}</p>
            <ChangeEmail current={account.email} />
          </section>
          <section className="panel" aria-labelledby="acct-password">
            <h2 id="acct-password">Password</h2>
            <ChangePassword email={account.email} />
          </section>
        </>
      )}
      <Devices />
      <section className="panel" aria-labelledby="acct-more">
        <h2 id="acct-more">Settings</h2>
        <ul className="link-list">
          <li>
            <Link to="/profiles?manage=1">Profiles and parental controls</Link>
          </li>
          <li>
            <Link to="/settings/notifications">Notification settings</Link>
          </li>
        </ul>
      </section>
      {account && <DeleteAccount />}
    </div>
  )
}

function Disclosure({ label, children }: { label: string; children: (close: () => void) => React.ReactNode }) {
  const [open, setOpen] = useState(false)
  return open ? (
    <div className="disclosure">{children(() => setOpen(false))}</div>
  ) : (
    <button className="btn btn--outline" onClick={() => setOpen(true)} aria-expanded={false}>
      {label}
    </button>
  )
}

function ChangeEmail({ current }: { current: string }) {
  const [sentTo, setSentTo] = useState('')
  return (
    <>
      {sentTo && <Banner kind="success">We sent a link to {sentTo}. Your address changes when you open it.</Banner>}
      <Disclosure label="Change email">
        {(close) => <ChangeEmailForm current={current} onDone={(to) => (setSentTo(to), close())} onCancel={close} />}
      </Disclosure>
    </>
  )
}

function ChangeEmailForm({ current, onDone, onCancel }: { current: string; onDone: (to: string) => void; onCancel: () => void }) {
  const form = useForm(
    { email: '', password: '' },
    {
      validate: (v) => collect({ email: email(v.email) ?? (v.email.trim().toLowerCase() === current.toLowerCase() ? 'This is already your email address.' : undefined), password: required(v.password, 'your password') }),
      submit: async (v) => {
        await call((headers) => client.PATCH('/api/v1/account', { headers, body: { email: v.email.trim(), password: v.password } }))
        onDone(v.email.trim())
      },
    },
  )
  return (
    <form ref={form.formRef} onSubmit={form.onSubmit} noValidate className="inline-form">
      <Banner>{form.banner}</Banner>
      <Field label="New email" type="email" autoComplete="email" autoFocus {...form.field('email')} />
      <Field label="Your password" type="password" autoComplete="current-password" {...form.field('password')} />
      <div className="form-actions">
        <Submit busy={form.busy} className="btn btn--primary">
          Send confirmation link
        </Submit>
        <button type="button" className="btn btn--ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  )
}

function ChangePassword({ email: mail }: { email: string }) {
  const [done, setDone] = useState(false)
  const qc = useQueryClient()
  const sid = useSessionId()
  return (
    <>
      {done && <Banner kind="success">Your password has been changed. Every other device has been signed out.</Banner>}
      <Disclosure label="Change password">
        {(close) => (
          <ChangePasswordForm
            email={mail}
            onCancel={close}
            onDone={() => {
              setDone(true)
              close()
              void qc.invalidateQueries({ queryKey: ['sessions', sid] })
            }}
          />
        )}
      </Disclosure>
    </>
  )
}

function ChangePasswordForm({ email: mail, onDone, onCancel }: { email: string; onDone: () => void; onCancel: () => void }) {
  const form = useForm(
    { current: '', password: '' },
    {
      validate: (v) => collect({ current: required(v.current, 'your current password'), password: newPassword(v.password, mail) }),
      apiFields: { current_password: 'current', new_password: 'password', password: 'current' },
      submit: async (v) => {
        await call((headers) => client.POST('/api/v1/account/password', { headers, body: { current_password: v.current, new_password: v.password } }))
        onDone()
      },
    },
  )
  return (
    <form ref={form.formRef} onSubmit={form.onSubmit} noValidate className="inline-form">
      <Banner>{form.banner}</Banner>
      <Field label="Current password" type="password" autoComplete="current-password" autoFocus {...form.field('current')} />
      <Field label="New password" type="password" autoComplete="new-password" hint="At least 8 characters." {...form.field('password')} />
      <div className="form-actions">
        <Submit busy={form.busy} className="btn btn--primary">
          Change password
        </Submit>
        <button type="button" className="btn btn--ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  )
}

function deviceIcon(s: Session) {
  const phone = s.device_kind === 'mobile' || s.device_kind === 'ios' || s.device_kind === 'android' || /Android|iOS|iPhone/.test(s.device_name)
  return <Icon name={phone ? 'phone' : s.device_kind === 'tv' ? 'tv' : 'laptop'} size="1.6em" />
}

function Devices() {
  const sid = useSessionId()
  const qc = useQueryClient()
  const navigate = useNavigate()
  const sessions = useQuery({ queryKey: ['sessions', sid], queryFn: () => call((headers) => client.GET('/api/v1/auth/sessions', { headers })).then((r): Session[] => r.items) })
  const revoke = useMutation({
    mutationFn: (id: string) => call((headers) => client.DELETE('/api/v1/auth/sessions/{id}', { headers, params: { path: { id } } })),
    onSuccess: (_v, id) => qc.setQueryData<Session[]>(['sessions', sid], (list) => list?.filter((s) => s.id !== id)),
  })
  const everywhere = useMutation({
    mutationFn: () => call((headers) => client.DELETE('/api/v1/auth/sessions', { headers })),
    onSuccess: () => {
      tokens.signOut('user')
      navigate('/signin')
    },
  })
  const others = sessions.data?.filter((s) => !s.current) ?? []
  return (
    <section className="panel" aria-labelledby="acct-devices">
      <h2 id="acct-devices">Devices and sessions</h2>
      <p className="muted">Where your account is signed in. Sign out any device you don't recognise, then change your password.</p>
      {sessions.error && <Banner>{describe(sessions.error)}</Banner>}
      {revoke.error && <Banner>{describe(revoke.error)}</Banner>}
      {everywhere.error && <Banner>{describe(everywhere.error)}</Banner>}
      {sessions.isPending && <div className="skeleton skeleton--line" />}
      <ul className="sessions">
        {sessions.data?.map((s) => (
          <li key={s.id} className="session">
            <span className="session__icon" aria-hidden="true">
              {deviceIcon(s)}
            </span>
            <div className="session__body">
              <p className="session__name">
                {s.device_name} {s.current && <span className="tag tag--ok">This device</span>}
              </p>
              <p className="muted session__meta">
                {s.ip ? `${s.ip} · ` : ''}active {timeAgo(s.last_seen_at)} · signed in {timeAgo(s.created_at)}
              </p>
            </div>
            {!s.current && (
              <button className="btn btn--small btn--outline" onClick={() => revoke.mutate(s.id)} disabled={revoke.isPending && revoke.variables === s.id}>
                Sign out<span className="sr-only"> {s.device_name}</span>
              </button>
            )}
          </li>
        ))}
      </ul>
      {sessions.data && (
        <button className="btn btn--outline" onClick={() => everywhere.mutate()} disabled={everywhere.isPending}>
          Sign out of all devices{others.length === 0 ? '' : ` (${others.length + 1})`}
        </button>
      )}
    </section>
  )
}

function DeleteAccount() {
  const navigate = useNavigate()
  const [open, setOpen] = useState(false)
  const form = useForm(
    { password: '' },
    {
      validate: (v) => collect({ password: required(v.password, 'your password') }),
      submit: async (v) => {
        await call((headers) => client.DELETE('/api/v1/account', { headers, body: { password: v.password } }))
        tokens.signOut('user')
        navigate('/signin', { state: { notice: 'deleted' } })
      },
    },
  )
  return (
    <section className="panel danger-zone" aria-labelledby="acct-delete">
      <h2 id="acct-delete">Delete account</h2>
      <p className="muted">This deletes your account, every profile and their history. It cannot be undone.</p>
      {open ? (
        <form ref={form.formRef} onSubmit={form.onSubmit} noValidate className="inline-form">
          <Banner>{form.banner}</Banner>
          <Field label="Enter your password to confirm" type="password" autoComplete="current-password" autoFocus {...form.field('password')} />
          <div className="form-actions">
            <Submit busy={form.busy} className="btn btn--danger">
              Delete my account
            </Submit>
            <button type="button" className="btn btn--ghost" onClick={() => setOpen(false)}>
              Keep my account
            </button>
          </div>
        </form>
      ) : (
        <button className="btn btn--outline-danger" onClick={() => setOpen(true)}>
          Delete account…
        </button>
      )}
    </section>
  )
}
