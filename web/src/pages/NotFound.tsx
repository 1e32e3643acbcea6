import { Link } from 'react-router'
import { Logo } from '../components/Logo'
import { useDocumentTitle } from '../lib/hooks'

export function NotFound() {
  useDocumentTitle('Page not found')
  return (
    <div className="auth-page">
      <Logo to="/" />
      <div className="auth-card">
        <h1>Lost your way?</h1>
        <p className="muted">There is no page at this address. It may have moved, or the link may be mistyped.</p>
        <Link className="btn btn--primary btn--block" to="/">
          Go to the home page
        </Link>
      </div>
    </div>
  )
}
