// Checks run in the browser before a form is sent, mirroring the API's
// rules so that most mistakes are caught without a round trip. The API
// stays the judge: its field errors are shown the same way.

export type Errors = Record<string, string>

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@.]+$/

export function email(v: string): string | undefined {
  const s = v.trim()
  if (!s) return 'Enter your email address.'
  if (s.length > 254) return 'An email address has at most 254 characters.'
  if (!EMAIL.test(s)) return 'This does not look like an email address (like name@example.com).'
  return undefined
}

// newPassword applies the length part of the API's policy (NIST SP
// 800-63B: 8 to 128 characters); the API also refuses common passwords.
export function newPassword(v: string, mail = ''): string | undefined {
  const n = [...v].length
  if (n === 0) return 'Choose a password.'
  if (n < 8) return `Use at least 8 characters (${8 - n} more).`
  if (n > 128) return 'Use at most 128 characters.'
  const local = mail.split('@')[0]?.split('+')[0]?.toLowerCase() ?? ''
  if (local.length >= 4 && v.toLowerCase().includes(local)) return "Don't use your email address in your password."
  return undefined
}

export function required(v: string, what: string): string | undefined {
  return v.trim() ? undefined : `Enter ${what}.`
}

export function profileName(v: string): string | undefined {
  const s = v.trim()
  if (!s) return 'Give the profile a name.'
  if ([...s].length > 40) return 'A profile name has at most 40 characters.'
  return undefined
}

// pin accepts an empty PIN (none) when optional.
export function pin(v: string, optional = false): string | undefined {
  if (v === '' && optional) return undefined
  if (!/^\d{4}$/.test(v)) return 'A PIN is four digits.'
  return undefined
}

export function sameAs(v: string, other: string, what: string): string | undefined {
  return v === other ? undefined : `The ${what} do not match.`
}

// collect drops the fields that passed.
export function collect(checks: Record<string, string | undefined>): Errors {
  const out: Errors = {}
  for (const [k, v] of Object.entries(checks)) if (v) out[k] = v
  return out
}
