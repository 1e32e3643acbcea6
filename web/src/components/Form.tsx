import { useId, useRef, useState, type FormEvent, type InputHTMLAttributes, type ReactNode } from 'react'
import { ApiError, describe, fieldErrors } from '../api/http'
import type { Errors } from '../lib/validate'

interface FormOptions<V> {
  // validate checks the values before sending; failures block the submit.
  validate?: (v: V) => Errors
  submit: (v: V) => Promise<void>
  // apiFields maps the API's field names to this form's ("new_password" → "password").
  apiFields?: Record<string, keyof V & string>
}

// useForm keeps what the user typed whatever happens: a failed request, an
// offline network or a server error only add messages next to the fields at
// fault (or above the form when no field is).
export function useForm<V extends Record<string, string | boolean>>(initial: V, opts: FormOptions<V>) {
  const [values, setValues] = useState<V>(initial)
  const [errors, setErrors] = useState<Errors>({})
  const [banner, setBanner] = useState<string>('')
  const [busy, setBusy] = useState(false)
  const formRef = useRef<HTMLFormElement>(null)

  const focusFirstError = (errs: Errors) => {
    const first = Object.keys(errs)[0]
    if (!first) return
    const el = formRef.current?.querySelector<HTMLElement>(`[name="${CSS.escape(first)}"]`)
    el?.focus()
  }

  const set = <K extends keyof V>(name: K, value: V[K]) => {
    setValues((v) => ({ ...v, [name]: value }))
    if (errors[name as string]) setErrors(({ [name as string]: _, ...rest }) => rest)
  }

  const onSubmit = async (e?: FormEvent) => {
    e?.preventDefault()
    if (busy) return
    const errs = opts.validate?.(values) ?? {}
    setErrors(errs)
    setBanner('')
    if (Object.keys(errs).length > 0) {
      focusFirstError(errs)
      return
    }
    setBusy(true)
    try {
      await opts.submit(values)
    } catch (err) {
      const byApi = fieldErrors(err)
      const mine: Errors = {}
      for (const [f, msg] of Object.entries(byApi)) {
        const name = opts.apiFields?.[f] ?? f
        if (name in values) mine[name] = msg
      }
      setErrors(mine)
      // A banner when no field shows the problem, or the problem is not
      // about what was typed (offline, server trouble, rate limits).
      const aboutFields = Object.keys(mine).length > 0 && err instanceof ApiError && !err.offline && err.status < 500 && err.status !== 429
      setBanner(aboutFields ? '' : describe(err))
      focusFirstError(mine)
    } finally {
      setBusy(false)
    }
  }

  const field = <K extends keyof V & string>(name: K) => ({
    name,
    value: values[name] as string,
    error: errors[name],
    onChange: (ev: { target: { value: string } }) => set(name, ev.target.value as V[K]),
  })

  return { values, set, errors, setErrors, banner, setBanner, busy, onSubmit, field, formRef }
}

interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'onChange' | 'value'> {
  label: string
  name: string
  value: string
  error?: string
  hint?: ReactNode
  onChange: (ev: { target: { value: string } }) => void
}

// Field is a labelled input with its hint and, when there is one, its error
// right under it, tied to the input for screen readers.
export function Field({ label, name, error, hint, type = 'text', ...rest }: FieldProps) {
  const id = useId()
  const [shown, setShown] = useState(false)
  const isPassword = type === 'password'
  const describedBy = [error ? `${id}-err` : '', hint ? `${id}-hint` : ''].filter(Boolean).join(' ') || undefined
  return (
    <div className={`field${error ? ' field--error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <div className="field__control">
        <input id={id} name={name} type={isPassword && shown ? 'text' : type} aria-invalid={error ? true : undefined} aria-describedby={describedBy} {...rest} />
        {isPassword && (
          <button type="button" className="field__reveal" aria-pressed={shown} onClick={() => setShown((s) => !s)}>
            {shown ? 'Hide' : 'Show'}
            <span className="sr-only"> password</span>
          </button>
        )}
      </div>
      {hint && !error && (
        <p className="field__hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p className="field__error" id={`${id}-err`}>
          {error}
        </p>
      )}
    </div>
  )
}

// Banner is a message above a form or a page section.
export function Banner({ children, kind = 'error' }: { children: ReactNode; kind?: 'error' | 'info' | 'success' }) {
  if (!children) return null
  return (
    <div className={`banner banner--${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  )
}

export function Submit({ busy, children, className = 'btn btn--primary btn--block' }: { busy: boolean; children: ReactNode; className?: string }) {
  return (
    <button type="submit" className={className} disabled={busy} aria-busy={busy || undefined}>
      {busy ? <span className="spinner" aria-hidden="true" /> : null}
      {children}
    </button>
  )
}
