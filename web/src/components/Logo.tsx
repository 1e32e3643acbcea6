import { Link } from 'react-router'

export function Logo({ to, kids }: { to?: string; kids?: boolean }) {
  const mark = (
    <span className={`logo${kids ? ' logo--kids' : ''}`}>
      streamflix{kids && <span className="logo__kids">kids</span>}
    </span>
  )
  return to ? (
    <Link to={to} className="logo-link" aria-label={kids ? 'streamflix kids, home' : 'streamflix, home'}>
      {mark}
    </Link>
  ) : (
    mark
  )
}
