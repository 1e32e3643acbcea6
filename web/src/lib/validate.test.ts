import { describe, expect, it } from 'vitest'
import { collect, email, newPassword, pin, profileName, sameAs } from './validate'

describe('validation', () => {
  it.each([
    ['ada@example.com', undefined],
    ['  ada@example.com ', undefined],
    ['', 'Enter your email address.'],
    ['ada', 'This does not look like an email address (like name@example.com).'],
    ['ada@example', 'This does not look like an email address (like name@example.com).'],
    ['a da@example.com', 'This does not look like an email address (like name@example.com).'],
    ['a'.repeat(250) + '@x.io', 'An email address has at most 254 characters.'],
  ])('email %j', (v, want) => {
    expect(email(v)).toBe(want)
  })

  it.each([
    ['plum-kettle-orbit', '', undefined],
    ['', '', 'Choose a password.'],
    ['short', '', 'Use at least 8 characters (3 more).'],
    ['x'.repeat(129), '', 'Use at most 128 characters.'],
    ['ééééééé', '', 'Use at least 8 characters (1 more).'],
    ['my-ada.lovelace-pw', 'ada.lovelace@example.com', "Don't use your email address in your password."],
    ['my-ada.lovelace-pw', 'ada.lovelace+films@example.com', "Don't use your email address in your password."],
    ['ada-is-fine-here', 'ada@example.com', undefined],
  ])('newPassword %j with email %j', (v, mail, want) => {
    expect(newPassword(v, mail)).toBe(want)
  })

  it.each([
    ['1234', false, undefined],
    ['', true, undefined],
    ['', false, 'A PIN is four digits.'],
    ['123', false, 'A PIN is four digits.'],
    ['12a4', true, 'A PIN is four digits.'],
    ['12345', false, 'A PIN is four digits.'],
  ])('pin %j optional=%j', (v, optional, want) => {
    expect(pin(v, optional)).toBe(want)
  })

  it('profileName', () => {
    expect(profileName(' Kids ')).toBeUndefined()
    expect(profileName('   ')).toBe('Give the profile a name.')
    expect(profileName('x'.repeat(41))).toBe('A profile name has at most 40 characters.')
  })

  it('collects only failures', () => {
    expect(collect({ a: undefined, b: 'bad', c: sameAs('x', 'y', 'passwords') })).toEqual({ b: 'bad', c: 'The passwords do not match.' })
  })
})
