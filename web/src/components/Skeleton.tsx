import { Logo } from './Logo'

// Skeletons hold the layout's place while data loads.
export function RowSkeleton({ title = true }: { title?: boolean }) {
  return (
    <div className="row row--skeleton" aria-hidden="true">
      {title && <div className="skeleton skeleton--heading" />}
      <div className="row__track">
        {Array.from({ length: 8 }, (_, i) => (
          <div key={i} className="card">
            <div className="skeleton skeleton--poster" />
          </div>
        ))}
      </div>
    </div>
  )
}

export function HeroSkeleton() {
  return (
    <div className="hero hero--skeleton" aria-hidden="true">
      <div className="hero__content">
        <div className="skeleton skeleton--title" />
        <div className="skeleton skeleton--line" />
        <div className="skeleton skeleton--button" />
      </div>
    </div>
  )
}

export function PageSkeleton() {
  return (
    <div className="page" aria-busy="true">
      <span className="sr-only" role="status">
        Loading…
      </span>
      <HeroSkeleton />
      <RowSkeleton />
    </div>
  )
}

// Splash shows while the app resumes the session, or says the server could
// not be reached.
export function Splash({ error, onRetry }: { error?: boolean; onRetry?: () => void }) {
  return (
    <div className="splash">
      <Logo />
      {error ? (
        <div className="splash__error" role="alert">
          <p>Could not reach streamflix. Check your connection.</p>
          <button className="btn btn--primary" onClick={onRetry} autoFocus>
            Try again
          </button>
        </div>
      ) : (
        <span className="spinner spinner--large" role="status" aria-label="Loading streamflix" />
      )}
    </div>
  )
}
