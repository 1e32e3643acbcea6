import { useQueryClient } from '@tanstack/react-query'
import { useEffect, useRef, useState } from 'react'
import { Link, useNavigate, useSearchParams } from 'react-router'
import { describe, fieldErrors } from '../api/http'
import type { Profile } from '../api/models'
import { selectProfile, signOut } from '../auth/client'
import { useCurrentProfile, useProfiles } from '../auth/session'
import { Avatar } from '../components/Avatar'
import { Icon } from '../components/Icon'
import { Banner } from '../components/Form'
import { Logo } from '../components/Logo'
import { useDocumentTitle } from '../lib/hooks'
import { pin as checkPin } from '../lib/validate'

const MAX_PROFILES = 5

// Profiles is "Who's watching?": pick a profile (with its PIN if it has
// one), or manage them.
export function Profiles() {
  const [params, setParams] = useSearchParams()
  const manage = params.get('manage') === '1'
  useDocumentTitle(manage ? 'Manage profiles' : "Who's watching?")
  const { data: profiles, error, isPending, refetch } = useProfiles()
  const current = useCurrentProfile()
  const navigate = useNavigate()
  const qc = useQueryClient()
  const [locked, setLocked] = useState<Profile | null>(null)
  const [busy, setBusy] = useState('')
  const [banner, setBanner] = useState('')
  const canManage = !current?.kids

  const choose = async (p: Profile) => {
    if (manage) return navigate(`/profiles/${p.id}/edit`)
    if (p.has_pin) return setLocked(p)
    setBusy(p.id)
    setBanner('')
    try {
      await selectProfile(p.id)
      qc.removeQueries({ queryKey: ['home'] })
      navigate('/')
    } catch (e) {
      setBanner(describe(e))
    } finally {
      setBusy('')
    }
  }

  return (
    <div className="profiles-page">
      <header className="profiles-page__header">
        <Logo />
        <button className="btn btn--ghost btn--small" onClick={() => signOut().then(() => navigate('/signin'))}>
          Sign out
        </button>
      </header>
      <main id="main" className="profiles">
        <h1>{manage ? 'Manage profiles' : "Who's watching?"}</h1>
        <Banner>{banner}</Banner>
        {error && (
          <>
            <Banner>{describe(error)}</Banner>
            <button className="btn btn--primary" onClick={() => refetch()}>
              Try again
            </button>
          </>
        )}
        {isPending && (
          <ul className="profiles__grid" aria-busy="true">
            {[0, 1, 2].map((i) => (
              <li key={i} className="profile-tile">
                <span className="skeleton skeleton--avatar" />
              </li>
            ))}
          </ul>
        )}
        {profiles && (
          <ul className="profiles__grid">
            {profiles.map((p) => (
              <li key={p.id}>
                <button className={`profile-tile${manage ? ' profile-tile--edit' : ''}`} onClick={() => choose(p)} disabled={!!busy} aria-busy={busy === p.id || undefined}>
                  <Avatar avatar={p.avatar} name={p.name} kids={p.kids} size="lg" />
                  <span className="profile-tile__name">
                    {p.name}
                    {p.has_pin && (
                      <span className="profile-tile__lock">
                        <Icon name="lock" />
                        <span className="sr-only">, locked with a PIN</span>
                      </span>
                    )}
                    {manage && <span className="sr-only">: edit</span>}
                  </span>
                  {manage && (
                    <span className="profile-tile__pencil" aria-hidden="true">
                      <Icon name="pencil" />
                    </span>
                  )}
                </button>
              </li>
            ))}
            {manage && profiles.length < MAX_PROFILES && (
              <li>
                <Link className="profile-tile profile-tile--add" to="/profiles/new">
                  <span className="avatar avatar--lg avatar--add" aria-hidden="true">
                    <Icon name="plus" />
                  </span>
                  <span className="profile-tile__name">Add profile</span>
                </Link>
              </li>
            )}
          </ul>
        )}
        {canManage && profiles && (
          <button className="btn btn--outline" onClick={() => setParams(manage ? {} : { manage: '1' })}>
            {manage ? 'Done' : 'Manage profiles'}
          </button>
        )}
      </main>
      {locked && <PinDialog profile={locked} onClose={() => setLocked(null)} onUnlocked={() => navigate('/')} />}
    </div>
  )
}

// PinDialog asks for a profile's four-digit PIN.
function PinDialog({ profile, onClose, onUnlocked }: { profile: Profile; onClose: () => void; onUnlocked: () => void }) {
  const ref = useRef<HTMLDialogElement>(null)
  const [pin, setPin] = useState('')
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)
  useEffect(() => {
    const d = ref.current
    if (d && !d.open) d.showModal?.()
  }, [])
  const submit = async (e: React.FormEvent) => {
    e.preventDefault()
    const bad = checkPin(pin)
    if (bad) return setError(bad)
    setBusy(true)
    setError('')
    try {
      await selectProfile(profile.id, pin)
      onUnlocked()
    } catch (err) {
      const wrong = fieldErrors(err).pin
      setError(wrong ?? describe(err))
      if (wrong) setPin('') // a wrong PIN is typed again; an offline one is kept
    } finally {
      setBusy(false)
    }
  }
  return (
    <dialog ref={ref} className="dialog" aria-labelledby="pin-title" onClose={onClose} onCancel={onClose}>
      <form onSubmit={submit} className="pin-form">
        <Avatar avatar={profile.avatar} name={profile.name} kids={profile.kids} size="md" />
        <h2 id="pin-title">Enter the PIN for {profile.name}</h2>
        <label htmlFor="pin-input" className="sr-only">
          Four-digit PIN
        </label>
        <input
          id="pin-input"
          className="pin-input"
          name="pin"
          inputMode="numeric"
          autoComplete="off"
          pattern="[0-9]*"
          maxLength={4}
          autoFocus
          value={pin}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'pin-error' : undefined}
          onChange={(e) => setPin(e.target.value.replace(/\D/g, '').slice(0, 4))}
        />
        {error && (
          <p className="field__error" id="pin-error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog__actions">
          <button type="button" className="btn btn--ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn--primary" disabled={busy || pin.length !== 4}>
            Unlock
          </button>
        </div>
      </form>
    </dialog>
  )
}
