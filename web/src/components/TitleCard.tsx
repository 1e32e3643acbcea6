import { Link } from 'react-router'
import type { Title } from '../api/models'
import { Poster } from './Artwork'

// CARD_SIZES tells the browser how wide a card is at each viewport width,
// so that it downloads the right poster size (see .card in app.css).
export const CARD_SIZES = '(min-width: 1800px) 11vw, (min-width: 1200px) 14vw, (min-width: 800px) 19vw, (min-width: 500px) 27vw, 38vw'

export function titleLabel(t: Title): string {
  return `${t.name}, ${t.kind === 'series' ? 'series' : 'film'}, ${t.year}${t.maturity_rating ? `, rated ${t.maturity_rating}` : ''}`
}

export function TitleCard({ title, tabIndex, onFocus, eager }: { title: Title; tabIndex?: number; onFocus?: () => void; eager?: boolean }) {
  return (
    <li className="card">
      <Link to={`/titles/${title.id}`} className="card__link" aria-label={titleLabel(title)} data-grid-card="" tabIndex={tabIndex} onFocus={onFocus}>
        <Poster id={title.id} name={title.name} artwork={title.artwork} kind={title.kind} sizes={CARD_SIZES} eager={eager} />
        <span className="card__meta" aria-hidden="true">
          <span className="card__name">{title.name}</span>
          <span className="card__sub">
            {title.maturity_rating && <span className="rating">{title.maturity_rating}</span>} {title.year}
          </span>
        </span>
      </Link>
    </li>
  )
}
