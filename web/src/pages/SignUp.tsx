import { Link } from 'react-router'
import { client, unwrap } from '../api/client'
import type { SignUpInput } from '../api/models'
import { signIn } from '../auth/client'
import { Banner, Field, Submit, useForm } from '../components/Form'
import { useDocumentTitle } from '../lib/hooks'
import { collect, email, newPassword } from '../lib/validate'
import { AuthLayout } from './AuthLayout'

export default function SignUp() {
  useDocumentTitle('Create your account')
  const form = useForm(
    { name: '', email: '', password: '' },
    {
      validate: (v) => collect({ email: email(v.email), password: newPassword(v.password, v.email.trim()) }),
      submit: async (v) => {
        const body: SignUpInput = { email: v.email.trim(), password: v.password }
        if (v.name.trim()) body.name = v.name.trim()
        body.language = navigator.language || 'en'
        await unwrap(client.POST('/api/v1/accounts', { body }))
        // Signed in, the router moves on to "Who's watching?".
        await signIn(body.email, v.password)
      },
    },
  )
  return (
    <AuthLayout
      title="Create your account"
      footer={
        <p>
          Already have an account? <Link to="/signin">Sign in</Link>
        </p>
      }
    >
      <p className="muted">Films and series on every screen. One account for the whole household, with a profile for everyone.</p>
      <form ref={form.formRef} onSubmit={form.onSubmit} noValidate>
        <Banner>{form.banner}</Banner>
        <Field label="Your name" autoComplete="given-name" hint="It names your first profile. You can add more later." autoFocus {...form.field('name')} />
        <Field label="Email" type="email" autoComplete="email" inputMode="email" {...form.field('email')} />
        <Field label="Password" type="password" autoComplete="new-password" hint="At least 8 characters. Long phrases are easy to remember and hard to guess." {...form.field('password')} />
        <Submit busy={form.busy}>Create account</Submit>
      </form>
    </AuthLayout>
  )
}
