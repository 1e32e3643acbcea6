import { Link } from 'react-router'
import type { Title } from '../api/models'
import { Backdrop } from './Artwork'
import { Icon } from './Icon'

// Hero is the title at the top of the home page, artwork first.
export function Hero({ title }: { title: Title }) {
  return (
    <section className="hero" aria-labelledby="hero-title">
      <Backdrop id={title.id} artwork={title.artwork} />
      <div className="hero__content">
        <p className="hero__eyebrow">{title.kind === 'series' ? 'Series' : 'Film'} · New on streamflix</p>
        <h2 className="hero__title" id="hero-title">
          {title.name}
        </h2>
        <p className="hero__meta">
          {title.maturity_rating && <span className="rating">{title.maturity_rating}</span>}
          <span>{title.year}</span>
          {title.genres.slice(0, 3).map((g) => (
            <span key={g.id} className="dot-before">
              {g.name}
            </span>
          ))}
        </p>
        <div className="hero__actions">
          {title.playable && (
            <Link className="btn btn--primary btn--lg" to={`/titles/${title.id}`}>
              <Icon name="play" />Play<span className="sr-only"> {title.name}</span>
            </Link>
          )}
          <Link className={`btn ${title.playable ? 'btn--ghost' : 'btn--primary'} btn--lg`} to={`/titles/${title.id}`}>
            <Icon name="info" />More info<span className="sr-only"> about {title.name}</span>
          </Link>
        </div>
      </div>
    </section>
  )
}
