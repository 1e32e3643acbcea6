import { useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { Link, useNavigate, useParams } from 'react-router'
import { describe } from '../api/http'
import type { Profile, ProfileInput, ProfilePatch } from '../api/models'
import { client } from '../api/client'
import { call } from '../auth/client'
import { useCurrentProfile, useProfiles, useSessionId } from '../auth/session'
import { AVATARS, Avatar } from '../components/Avatar'
import { Banner, Field, Submit, useForm } from '../components/Form'
import { Logo } from '../components/Logo'
import { useDocumentTitle } from '../lib/hooks'
import { collect, pin, profileName } from '../lib/validate'

export const MATURITY = [
  { level: 10, label: 'All ages', hint: 'G, TV-Y, TV-G' },
  { level: 20, label: 'Older kids', hint: 'PG, TV-Y7, TV-PG' },
  { level: 30, label: 'Teens', hint: 'PG-13, TV-14' },
  { level: 40, label: 'Mature', hint: 'R, TV-MA' },
  { level: 50, label: 'Adults', hint: 'NC-17: everything' },
]
const KIDS_MAX = 20

export default function ProfileEdit() {
  const { id } = useParams()
  const { data: profiles, isPending } = useProfiles()
  const existing = profiles?.find((p) => p.id === id)
  useDocumentTitle(id ? 'Edit profile' : 'Add profile')
  if (id && isPending) return <div className="profiles-page" aria-busy="true" />
  if (id && !existing) {
    return (
      <div className="profiles-page">
        <main id="main" className="profiles">
          <h1>Profile not found</h1>
          <Link className="btn btn--primary" to="/profiles?manage=1">
            Back to profiles
          </Link>
        </main>
      </div>
    )
  }
  return <ProfileForm existing={existing} />
}

function ProfileForm({ existing }: { existing?: Profile }) {
  const navigate = useNavigate()
  const qc = useQueryClient()
  const sid = useSessionId()
  const current = useCurrentProfile()
  const [confirmDelete, setConfirmDelete] = useState(false)
  const [deleteError, setDeleteError] = useState('')
  const back = '/profiles?manage=1'

  const form = useForm(
    {
      name: existing?.name ?? '',
      avatar: existing?.avatar || AVATARS[Math.floor(Math.random() * AVATARS.length)].id,
      kids: existing?.kids ?? false,
      maturity: String(existing?.maturity_level ?? 50),
      pin: '',
      removePin: false as boolean,
      current_pin: '',
    },
    {
      validate: (v) =>
        collect({
          name: profileName(v.name),
          pin: pin(v.pin, true),
          current_pin: existing?.has_pin && (v.pin !== '' || v.removePin) ? pin(v.current_pin) : undefined,
        }),
      apiFields: { maturity_level: 'maturity' },
      submit: async (v) => {
        const maturity = v.kids ? Math.min(Number(v.maturity), KIDS_MAX) : Number(v.maturity)
        const body: ProfileInput & ProfilePatch = { name: v.name.trim(), avatar: v.avatar, kids: v.kids, maturity_level: maturity }
        if (existing) {
          if (v.removePin) body.pin = ''
          else if (v.pin) body.pin = v.pin
          if (existing.has_pin && 'pin' in body) body.current_pin = v.current_pin
          await call((headers) => client.PATCH('/api/v1/profiles/{id}', { headers, params: { path: { id: existing.id } }, body }))
        } else {
          if (v.pin) body.pin = v.pin
          await call((headers) => client.POST('/api/v1/profiles', { headers, body }))
        }
        await qc.invalidateQueries({ queryKey: ['profiles', sid] })
        navigate(back)
      },
    },
  )
  const v = form.values
  const onDelete = async () => {
    setDeleteError('')
    try {
      await call((headers) =>
        client.DELETE('/api/v1/profiles/{id}', { headers, params: { path: { id: existing!.id } }, body: existing!.has_pin ? { current_pin: v.current_pin } : {} }),
      )
      await qc.invalidateQueries({ queryKey: ['profiles', sid] })
      navigate(back)
    } catch (e) {
      setDeleteError(describe(e))
    }
  }
  const levels = v.kids ? MATURITY.filter((m) => m.level <= KIDS_MAX) : MATURITY
  const isCurrent = existing && current?.id === existing.id

  return (
    <div className="profiles-page">
      <header className="profiles-page__header">
        <Logo />
      </header>
      <main id="main" className="profile-edit">
        <h1>{existing ? 'Edit profile' : 'Add a profile'}</h1>
        {!existing && <p className="muted">Add a profile for another person watching streamflix.</p>}
        <form ref={form.formRef} onSubmit={form.onSubmit} noValidate className="profile-edit__form">
          <Banner>{form.banner}</Banner>
          <div className="profile-edit__top">
            <Avatar avatar={v.avatar} name={v.name || 'New'} kids={v.kids} size="lg" />
            <div className="profile-edit__fields">
              <Field label="Name" autoComplete="off" maxLength={60} autoFocus={!existing} {...form.field('name')} />
              <label className="switch">
                <input
                  type="checkbox"
                  name="kids"
                  checked={v.kids}
                  onChange={(e) => {
                    form.set('kids', e.target.checked)
                    if (e.target.checked && Number(v.maturity) > KIDS_MAX) form.set('maturity', String(KIDS_MAX))
                  }}
                />
                <span className="switch__track" aria-hidden="true" />
                <span>
                  Kids profile
                  <span className="switch__hint">Only titles for children, in a simpler, brighter look. Kids profiles cannot change the account.</span>
                </span>
              </label>
            </div>
          </div>

          <fieldset className="avatar-picker">
            <legend>Picture</legend>
            {AVATARS.map((a) => (
              <label key={a.id} className="avatar-picker__option">
                <input type="radio" name="avatar" value={a.id} checked={v.avatar === a.id} onChange={() => form.set('avatar', a.id)} />
                <Avatar avatar={a.id} name={a.label} kids={v.kids} size="sm" />
                <span className="sr-only">{a.label}</span>
              </label>
            ))}
          </fieldset>

          <div className={`field${form.errors.maturity ? ' field--error' : ''}`}>
            <label htmlFor="maturity">Maturity rating</label>
            <select id="maturity" name="maturity" value={v.maturity} onChange={(e) => form.set('maturity', e.target.value)} aria-describedby="maturity-hint">
              {levels.map((m) => (
                <option key={m.level} value={m.level}>
                  {m.label} ({m.hint})
                </option>
              ))}
            </select>
            <p className="field__hint" id="maturity-hint">
              Titles rated above this are hidden from the profile.
            </p>
            {form.errors.maturity && <p className="field__error">{form.errors.maturity}</p>}
          </div>

          <fieldset className="pin-fieldset">
            <legend>Profile lock</legend>
            {existing?.has_pin && (
              <label className="check">
                <input type="checkbox" name="removePin" checked={v.removePin} onChange={(e) => form.set('removePin', e.target.checked)} /> Remove the PIN
              </label>
            )}
            {!v.removePin && (
              <Field
                label={existing?.has_pin ? 'New PIN (leave empty to keep the current one)' : 'PIN (optional)'}
                inputMode="numeric"
                autoComplete="off"
                maxLength={4}
                hint="Four digits, asked for before anyone uses this profile."
                {...form.field('pin')}
              />
            )}
            {existing?.has_pin && <Field label="Current PIN" inputMode="numeric" autoComplete="off" maxLength={4} hint="Needed to change or remove the PIN, or to delete the profile." {...form.field('current_pin')} />}
          </fieldset>

          <div className="form-actions">
            <Submit busy={form.busy} className="btn btn--primary">
              Save
            </Submit>
            <Link className="btn btn--ghost" to={back}>
              Cancel
            </Link>
          </div>
        </form>

        {existing && !isCurrent && (
          <section className="danger-zone" aria-labelledby="delete-profile">
            <h2 id="delete-profile">Delete this profile</h2>
            <p className="muted">Its history and settings go with it. This cannot be undone.</p>
            <Banner>{deleteError}</Banner>
            {confirmDelete ? (
              <div className="form-actions">
                <button className="btn btn--danger" onClick={onDelete}>
                  Yes, delete {existing.name}
                </button>
                <button className="btn btn--ghost" onClick={() => setConfirmDelete(false)}>
                  Keep it
                </button>
              </div>
            ) : (
              <button className="btn btn--outline-danger" onClick={() => setConfirmDelete(true)}>
                Delete profile
              </button>
            )}
          </section>
        )}
      </main>
    </div>
  )
}
