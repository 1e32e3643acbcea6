import type { ReactNode } from 'react'
import { Logo } from '../components/Logo'

// AuthLayout frames the signed-out pages: a dark poster-wall backdrop and a
// card in the middle.
export function AuthLayout({ title, children, footer }: { title: string; children: ReactNode; footer?: ReactNode }) {
  return (
    <div className="auth-page">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="auth-page__header">
        <Logo to="/" />
      </header>
      <main id="main" className="auth-card">
        <h1>{title}</h1>
        {children}
        {footer && <div className="auth-card__footer">{footer}</div>}
      </main>
    </div>
  )
}
