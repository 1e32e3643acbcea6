import { Link, useNavigate, useSearchParams } from 'react-router'
import { client, unwrap } from '../api/client'
import { tokens } from '../auth/client'
import { Banner, Field, Submit, useForm } from '../components/Form'
import { useDocumentTitle } from '../lib/hooks'
import { collect, newPassword, sameAs } from '../lib/validate'
import { AuthLayout } from './AuthLayout'

export default function ResetPassword() {
  useDocumentTitle('Choose a new password')
  const [params] = useSearchParams()
  const token = params.get('token') ?? ''
  const navigate = useNavigate()
  const form = useForm(
    { password: '', confirm: '', token },
    {
      validate: (v) => collect({ password: newPassword(v.password), confirm: sameAs(v.confirm, v.password, 'passwords') }),
      apiFields: { new_password: 'password' },
      submit: async (v) => {
        await unwrap(client.POST('/api/v1/auth/password-reset/confirm', { body: { token, new_password: v.password } }))
        // Every session was signed out, this browser's included.
        tokens.signOut('user')
        navigate('/signin', { replace: true, state: { notice: 'reset' } })
      },
    },
  )
  const tokenError = form.errors.token
  return (
    <AuthLayout title="Choose a new password" footer={<Link to="/signin">Back to sign in</Link>}>
      {!token || tokenError ? (
        <>
          <Banner>{tokenError || 'This page needs the link from your password reset email.'}</Banner>
          <Link className="btn btn--primary btn--block" to="/forgot-password">
            Send me a new link
          </Link>
        </>
      ) : (
        <form ref={form.formRef} onSubmit={form.onSubmit} noValidate>
          <Banner>{form.banner}</Banner>
          <Field label="New password" type="password" autoComplete="new-password" autoFocus hint="At least 8 characters." {...form.field('password')} />
          <Field label="Confirm new password" type="password" autoComplete="new-password" {...form.field('confirm')} />
          <Submit busy={form.busy}>Change password</Submit>
        </form>
      )}
    </AuthLayout>
  )
}
