import { useEffect, useRef, useState, type ReactNode } from 'react'
import { Link, NavLink, Outlet, useLocation, useNavigate } from 'react-router'
import { describe } from '../api/http'
import type { Notification } from '../api/models'
import { client } from '../api/client'
import { call, signOut } from '../auth/client'
import { useAccount, useCurrentProfile, useProfileId } from '../auth/session'
import { showPastDueBanner } from '../lib/billing'
import { timeAgo, useOnline } from '../lib/hooks'
import { openPortal, useSubscription } from '../lib/subscription'
import { useLiveNotifications, useMarkAllRead, useMarkRead, useNotificationList, useUnread } from '../lib/notifications'
import { Avatar } from './Avatar'
import { Icon } from './Icon'
import { Logo } from './Logo'

// Shell is the frame of every signed-in page: header, banners, main.
export function Shell() {
  const profile = useCurrentProfile()
  const profileId = useProfileId()
  const kids = !!profile?.kids
  const loc = useLocation()
  const mainRef = useRef<HTMLElement>(null)
  useLiveNotifications()

  // After navigating, start screen readers and keyboards at the new page.
  const first = useRef(true)
  useEffect(() => {
    if (first.current) {
      first.current = false
      return
    }
    const h1 = mainRef.current?.querySelector<HTMLElement>('h1')
    if (h1) {
      h1.tabIndex = -1
      h1.focus({ preventScroll: true })
    }
    window.scrollTo(0, 0)
  }, [loc.pathname])

  return (
    <div className={`shell${kids ? ' shell--kids' : ''}`}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header kids={kids} hasProfile={!!profileId} />
      <OfflineBar />
      {!kids && <VerifyBanner />}
      {!kids && <PastDueBanner />}
      <main id="main" ref={mainRef}>
        <Outlet />
      </main>
    </div>
  )
}

function Header({ kids, hasProfile }: { kids: boolean; hasProfile: boolean }) {
  const [scrolled, setScrolled] = useState(false)
  useEffect(() => {
    const on = () => setScrolled(window.scrollY > 8)
    on()
    window.addEventListener('scroll', on, { passive: true })
    return () => window.removeEventListener('scroll', on)
  }, [])
  return (
    <header className={`header${scrolled ? ' header--solid' : ''}`}>
      <Logo to={hasProfile ? '/' : '/profiles'} kids={kids} />
      {hasProfile && (
        <nav className="nav" aria-label="Main">
          <NavLink to="/" end>
            Home
          </NavLink>
          <NavLink to="/search">
            <Icon name="search" className="nav__icon" />
            Search
          </NavLink>
        </nav>
      )}
      <div className="header__end">
        <Bell />
        <ProfileMenu />
      </div>
    </header>
  )
}

// Popover is a button that opens a panel, closed by Escape or a click
// outside, with focus returned to the button.
function Popover({ label, button, children, className }: { label: string; button: ReactNode; children: (close: () => void) => ReactNode; className?: string }) {
  const [open, setOpen] = useState(false)
  const ref = useRef<HTMLDivElement>(null)
  const btnRef = useRef<HTMLButtonElement>(null)
  const loc = useLocation()
  useEffect(() => setOpen(false), [loc.pathname])
  useEffect(() => {
    if (!open) return
    const onDown = (e: MouseEvent) => {
      if (!ref.current?.contains(e.target as Node)) setOpen(false)
    }
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false)
        btnRef.current?.focus()
      }
    }
    document.addEventListener('mousedown', onDown)
    document.addEventListener('keydown', onKey)
    return () => {
      document.removeEventListener('mousedown', onDown)
      document.removeEventListener('keydown', onKey)
    }
  }, [open])
  return (
    <div className={`popover ${className ?? ''}`} ref={ref}>
      <button ref={btnRef} className="popover__button" aria-expanded={open} aria-label={label} onClick={() => setOpen((o) => !o)}>
        {button}
      </button>
      {open && <div className="popover__panel">{children(() => setOpen(false))}</div>}
    </div>
  )
}

function Bell() {
  const { data: unread = 0 } = useUnread()
  const label = unread > 0 ? `Notifications, ${unread} unread` : 'Notifications'
  return (
    <Popover
      className="bell"
      label={label}
      button={
        <>
          <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">
            <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z" fill="currentColor" />
          </svg>
          {unread > 0 && (
            <span className="badge" aria-hidden="true" data-testid="unread-badge">
              {unread > 99 ? '99+' : unread}
            </span>
          )}
        </>
      }
    >
      {(close) => <NotificationPanel close={close} />}
    </Popover>
  )
}

function NotificationPanel({ close }: { close: () => void }) {
  const { data, isPending, error } = useNotificationList(8)
  const markAll = useMarkAllRead()
  const items = data?.items ?? []
  return (
    <div className="notif-panel" role="region" aria-label="Notifications">
      <div className="notif-panel__head">
        <h2>Notifications</h2>
        {items.some((n) => !n.read) && (
          <button className="btn btn--link" onClick={() => markAll.mutate()} disabled={markAll.isPending}>
            Mark all read
          </button>
        )}
      </div>
      {isPending && <p className="muted pad">Loading…</p>}
      {error && <p className="banner banner--error">{describe(error)}</p>}
      {!isPending && items.length === 0 && <p className="muted pad">Nothing new. We'll let you know when there is.</p>}
      <ul className="notif-list">
        {items.map((n) => (
          <NotificationItem key={n.id} n={n} compact />
        ))}
      </ul>
      <Link className="notif-panel__all" to="/notifications" onClick={close}>
        See all notifications
      </Link>
    </div>
  )
}

export function NotificationItem({ n, compact, onDelete }: { n: Notification; compact?: boolean; onDelete?: () => void }) {
  const markRead = useMarkRead()
  const link = n.data?.link && n.data.link.startsWith(window.location.origin) ? n.data.link.slice(window.location.origin.length) : undefined
  return (
    <li className={`notif${n.read ? '' : ' notif--unread'}`}>
      <span className="notif__dot" aria-hidden="true" />
      <div className="notif__body">
        <p className="notif__title">
          {!n.read && <span className="sr-only">Unread: </span>}
          {link ? <Link to={link}>{n.title}</Link> : n.title}
        </p>
        {!compact && n.body && <p className="notif__text">{n.body}</p>}
        {compact && n.body && <p className="notif__text notif__text--clamp">{n.body}</p>}
        <p className="notif__time">
          <time dateTime={n.created_at}>{timeAgo(n.created_at)}</time>
        </p>
      </div>
      <div className="notif__actions">
        {!n.read && (
          <button className="btn btn--small" onClick={() => markRead.mutate(n.id)} disabled={markRead.isPending}>
            Mark as read<span className="sr-only">: {n.title}</span>
          </button>
        )}
        {onDelete && (
          <button className="btn btn--small btn--ghost" onClick={onDelete}>
            Delete<span className="sr-only">: {n.title}</span>
          </button>
        )}
      </div>
    </li>
  )
}

function ProfileMenu() {
  const profile = useCurrentProfile()
  const navigate = useNavigate()
  const [error, setError] = useState('')
  const kids = !!profile?.kids
  const onSignOut = async () => {
    try {
      await signOut()
      navigate('/signin')
    } catch (e) {
      setError(describe(e))
    }
  }
  return (
    <Popover
      className="profile-menu"
      label={profile ? `Profile menu: ${profile.name}` : 'Profile menu'}
      button={profile ? <Avatar avatar={profile.avatar} name={profile.name} kids={profile.kids} size="sm" /> : <span className="avatar avatar--sm avatar--empty" aria-hidden="true" />}
    >
      {() => (
        <nav className="menu" aria-label="Profile">
          {profile && <p className="menu__who">{profile.name}</p>}
          <Link to="/profiles">{kids ? 'Exit kids' : 'Switch profile'}</Link>
          {!kids && <Link to="/profiles?manage=1">Manage profiles</Link>}
          {!kids && <Link to="/account">Account</Link>}
          <Link to="/notifications">Notifications</Link>
          {!kids && <Link to="/settings/notifications">Notification settings</Link>}
          <button className="menu__signout" onClick={onSignOut}>
            Sign out of streamflix
          </button>
          {error && <p className="field__error">{error}</p>}
        </nav>
      )}
    </Popover>
  )
}

function OfflineBar() {
  const online = useOnline()
  if (online) return null
  return (
    <div className="offline-bar" role="status">
      You are offline. What you see may be out of date; what you type is kept until you are back.
    </div>
  )
}

// PastDueBanner asks for a new card while a renewal is overdue: access
// stays during the retry window, and the portal fixes it.
function PastDueBanner() {
  const { data: sub } = useSubscription()
  const [busy, setBusy] = useState(false)
  const [err, setErr] = useState('')
  if (!showPastDueBanner(sub)) return null
  const fix = async () => {
    setBusy(true)
    setErr('')
    try {
      await openPortal() // the browser leaves for the portal
    } catch (e) {
      setErr(describe(e))
      setBusy(false)
    }
  }
  return (
    <div className="pastdue-banner" role="alert">
      <p>
        <strong>Your last payment did not go through.</strong> Update your card to keep watching. {err}
      </p>
      <button className="btn btn--small btn--primary" onClick={fix} disabled={busy}>
        Update card
      </button>
    </div>
  )
}

// VerifyBanner reminds an unverified account to use the link we emailed.
function VerifyBanner() {
  const { data: account } = useAccount()
  const [state, setState] = useState<'idle' | 'sending' | 'sent' | 'error'>('idle')
  const [err, setErr] = useState('')
  if (!account || account.email_verified) return null
  const resend = async () => {
    setState('sending')
    try {
      await call((headers) => client.POST('/api/v1/account/email-verification', { headers }))
      setState('sent')
    } catch (e) {
      setErr(describe(e))
      setState('error')
    }
  }
  return (
    <div className="verify-banner" role="status">
      <p>
        <strong>Verify your email address.</strong> We sent a link to {account.email}.{' '}
        {state === 'sent' ? 'We sent it again: check your inbox.' : state === 'error' ? err : null}
      </p>
      {state !== 'sent' && (
        <button className="btn btn--small" onClick={resend} disabled={state === 'sending'}>
          Send the link again
        </button>
      )}
    </div>
  )
}
