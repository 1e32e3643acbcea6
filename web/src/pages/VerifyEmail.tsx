import { useQueryClient } from '@tanstack/react-query'
import { useEffect, useState } from 'react'
import { Link, useSearchParams } from 'react-router'
import { client, unwrap } from '../api/client'
import { ApiError, describe } from '../api/http'
import type { Account } from '../api/models'
import { useSession } from '../auth/session'
import { Banner } from '../components/Form'
import { useDocumentTitle } from '../lib/hooks'
import { AuthLayout } from './AuthLayout'

// A token is used once: remember the answer, so that React's double effects
// in development and a re-render do not send it twice.
const verifications = new Map<string, Promise<Account>>()

export default function VerifyEmail() {
  useDocumentTitle('Verify your email')
  const [params] = useSearchParams()
  const token = params.get('token') ?? ''
  const { state } = useSession()
  const qc = useQueryClient()
  const [result, setResult] = useState<{ account?: Account; error?: unknown }>()
  const [attempt, setAttempt] = useState(0)

  useEffect(() => {
    if (!token) return
    let p = verifications.get(token)
    if (!p) {
      p = unwrap(client.POST('/api/v1/account/verify-email', { body: { token } }))
      verifications.set(token, p)
    }
    let live = true
    p.then(
      (account) => {
        if (!live) return
        setResult({ account })
        void qc.invalidateQueries({ queryKey: ['account'] })
      },
      (error) => {
        if (!live) return
        if (error instanceof ApiError && (error.offline || error.status >= 500)) verifications.delete(token)
        setResult({ error })
      },
    )
    return () => {
      live = false
    }
  }, [token, qc, attempt])

  const next = state.status === 'signed-in' ? '/' : '/signin'
  const retryable = result?.error instanceof ApiError && (result.error.offline || result.error.status >= 500)
  return (
    <AuthLayout title="Verify your email">
      {!token && <Banner>This page needs the link from your verification email.</Banner>}
      {token && !result && (
        <p role="status" className="muted">
          <span className="spinner" aria-hidden="true" /> Checking your link…
        </p>
      )}
      {result?.account && (
        <>
          <Banner kind="success">Thank you: {result.account.email} is verified.</Banner>
          {state.status === 'signed-in' && (
            <Link className="btn btn--primary btn--block" to="/plans">
              Choose a plan
            </Link>
          )}
          <Link className={`btn ${state.status === 'signed-in' ? 'btn--ghost' : 'btn--primary'} btn--block verify__next`} to={next}>
            {state.status === 'signed-in' ? 'Start watching' : 'Sign in'}
          </Link>
        </>
      )}
      {result?.error != null && (
        <>
          <Banner>{describe(result.error)}</Banner>
          {retryable ? (
            <button className="btn btn--primary btn--block" onClick={() => setAttempt((a) => a + 1)}>
              Try again
            </button>
          ) : (
            <p className="muted">
              {state.status === 'signed-in' ? 'You can ask for a new link from the banner at the top of any page.' : 'Sign in to ask for a new link.'}{' '}
              <Link to={next}>Continue</Link>
            </p>
          )}
        </>
      )}
    </AuthLayout>
  )
}
