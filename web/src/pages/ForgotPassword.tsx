import { useState } from 'react'
import { Link } from 'react-router'
import { client, unwrap } from '../api/client'
import { Banner, Field, Submit, useForm } from '../components/Form'
import { useDocumentTitle } from '../lib/hooks'
import { collect, email } from '../lib/validate'
import { AuthLayout } from './AuthLayout'

export default function ForgotPassword() {
  useDocumentTitle('Reset your password')
  const [sentTo, setSentTo] = useState('')
  const form = useForm(
    { email: '' },
    {
      validate: (v) => collect({ email: email(v.email) }),
      submit: async (v) => {
        await unwrap(client.POST('/api/v1/auth/password-reset', { body: { email: v.email.trim() } }))
        setSentTo(v.email.trim())
      },
    },
  )
  return (
    <AuthLayout title="Reset your password" footer={<Link to="/signin">Back to sign in</Link>}>
      {sentTo ? (
        <Banner kind="success">
          If {sentTo} has a streamflix account, we have sent it a link to choose a new password. The link works for one hour.
        </Banner>
      ) : (
        <form ref={form.formRef} onSubmit={form.onSubmit} noValidate>
          <p className="muted">Enter the email address of your account and we will send you a link to choose a new password.</p>
          <Banner>{form.banner}</Banner>
          <Field label="Email" type="email" autoComplete="email" inputMode="email" autoFocus {...form.field('email')} />
          <Submit busy={form.busy}>Email me a link</Submit>
        </form>
      )}
    </AuthLayout>
  )
}
