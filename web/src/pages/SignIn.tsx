import { Link, useLocation } from 'react-router'
import { signIn } from '../auth/client'
import { useSession } from '../auth/session'
import { Banner, Field, Submit, useForm } from '../components/Form'
import { useDocumentTitle } from '../lib/hooks'
import { collect, email, required } from '../lib/validate'
import { AuthLayout } from './AuthLayout'

const notices: Record<string, string> = {
  revoked: 'You were signed out of this device. Sign in again to continue.',
  deleted: 'Your account has been deleted. We are sorry to see you go.',
  reset: 'Your password has been changed. Sign in with the new one.',
}

export function SignIn() {
  useDocumentTitle('Sign in')
  const { state } = useSession()
  const loc = useLocation()
  const notice = (loc.state as { notice?: string } | null)?.notice ?? (state.status === 'signed-out' ? state.reason : undefined)
  const form = useForm(
    { email: (loc.state as { email?: string } | null)?.email ?? '', password: '' },
    {
      validate: (v) => collect({ email: email(v.email), password: required(v.password, 'your password') }),
      submit: async (v) => {
        // Signed in, SignedOutOnly sends the user on (to ?next= or the profiles).
        await signIn(v.email.trim(), v.password)
      },
    },
  )
  return (
    <AuthLayout
      title="Sign in"
      footer={
        <p>
          New to streamflix? <Link to="/signup">Create an account</Link>
        </p>
      }
    >
      {notice && notices[notice] && <Banner kind="info">{notices[notice]}</Banner>}
      <form ref={form.formRef} onSubmit={form.onSubmit} noValidate>
        <Banner>{form.banner}</Banner>
        <Field label="Email" type="email" autoComplete="email" inputMode="email" autoFocus {...form.field('email')} />
        <Field label="Password" type="password" autoComplete="current-password" {...form.field('password')} />
        <Submit busy={form.busy}>Sign in</Submit>
      </form>
      <p className="auth-card__aside">
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
    </AuthLayout>
  )
}
