import { render, screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { MemoryRouter } from 'react-router'
import { afterEach, describe, expect, it, vi } from 'vitest'
import SignUp from './SignUp'

function problem(status: number, body: object) {
  return new Response(JSON.stringify({ type: 'urn:streamflix:problem:x', title: '', status, detail: '', ...body }), {
    status,
    headers: { 'Content-Type': 'application/problem+json' },
  })
}

function setup(fetchImpl: (url: string, init?: RequestInit) => Promise<Response>) {
  const fetchMock = vi.fn(fetchImpl)
  vi.stubGlobal('fetch', fetchMock)
  render(
    <MemoryRouter>
      <SignUp />
    </MemoryRouter>,
  )
  return { user: userEvent.setup(), fetchMock }
}

const email = () => screen.getByLabelText('Email')
const password = () => screen.getByLabelText('Password')

describe('SignUp form', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('checks fields before sending, next to the field at fault', async () => {
    const { user, fetchMock } = setup(async () => new Response('{}'))
    await user.type(email(), 'ada@example')
    await user.type(password(), 'short')
    await user.click(screen.getByRole('button', { name: 'Create account' }))
    expect(fetchMock).not.toHaveBeenCalled()
    expect(email()).toHaveAccessibleDescription('This does not look like an email address (like name@example.com).')
    expect(password()).toHaveAccessibleDescription('Use at least 8 characters (3 more).')
    expect(email()).toHaveAttribute('aria-invalid', 'true')
    expect(email()).toHaveFocus() // the first field at fault
  })

  it("shows the API's field errors next to their fields and keeps what was typed", async () => {
    const { user } = setup(async () =>
      problem(422, { code: 'validation_failed', errors: [{ field: 'password', code: 'common', message: 'This password is too common. Choose another.' }] }),
    )
    await user.type(email(), 'ada@example.com')
    await user.type(password(), 'password1')
    await user.click(screen.getByRole('button', { name: 'Create account' }))
    expect(await screen.findByText('This password is too common. Choose another.')).toBeInTheDocument()
    expect(password()).toHaveAccessibleDescription('This password is too common. Choose another.')
    expect(password()).toHaveValue('password1')
    expect(email()).toHaveValue('ada@example.com')
    expect(screen.queryByRole('alert')).not.toBeInTheDocument() // no banner: the field says it
  })

  it('puts a conflict without a field on the field it is about', async () => {
    const { user } = setup(async () => problem(409, { code: 'email_taken', detail: 'An account with this email already exists.' }))
    await user.type(email(), 'ada@example.com')
    await user.type(password(), 'plum-kettle-orbit-92')
    await user.click(screen.getByRole('button', { name: 'Create account' }))
    expect(await screen.findByText('An account with this email already exists.')).toBeInTheDocument()
    expect(email()).toHaveAccessibleDescription('An account with this email already exists.')
  })

  it('says when the server cannot be reached, without losing what was typed', async () => {
    const { user, fetchMock } = setup(async () => {
      throw new TypeError('Failed to fetch')
    })
    await user.type(screen.getByLabelText('Your name'), 'Ada')
    await user.type(email(), 'ada@example.com')
    await user.type(password(), 'plum-kettle-orbit-92')
    await user.click(screen.getByRole('button', { name: 'Create account' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('Could not reach streamflix')
    expect(screen.getByLabelText('Your name')).toHaveValue('Ada')
    expect(password()).toHaveValue('plum-kettle-orbit-92')
    // and it works when the network is back
    fetchMock.mockImplementation(async () => problem(503, { code: 'request_timeout', detail: 'The request took too long; try again.', request_id: 'req-42' }))
    await user.click(screen.getByRole('button', { name: 'Create account' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('Something went wrong on our side')
    expect(screen.getByRole('alert')).toHaveTextContent('req-42')
  })
})
