import { useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { Link, useParams } from 'react-router'
import { ApiError, describe } from '../api/http'
import type { TitleDetails } from '../api/models'
import { client } from '../api/client'
import { call } from '../auth/client'
import { useProfileId } from '../auth/session'
import { Backdrop, Poster } from '../components/Artwork'
import { FocusGrid } from '../components/FocusGrid'
import { Icon } from '../components/Icon'
import { Row } from '../components/Row'
import { HeroSkeleton, RowSkeleton } from '../components/Skeleton'
import { playAction } from '../lib/billing'
import { useDocumentTitle } from '../lib/hooks'
import { useSubscription } from '../lib/subscription'

function runtime(min: number): string {
  if (!min) return ''
  const h = Math.floor(min / 60)
  return h ? `${h} h ${min % 60 ? `${min % 60} min` : ''}`.trim() : `${min} min`
}

export default function TitlePage() {
  const { id = '' } = useParams()
  const profileId = useProfileId()
  const { data: t, error, isPending, refetch } = useQuery({
    queryKey: ['title', profileId, id],
    queryFn: () => call<TitleDetails>((headers) => client.GET('/api/v1/titles/{id}', { headers, params: { path: { id } } })),
  })
  const { data: sub, isError: subFailed } = useSubscription()
  useDocumentTitle(t?.name ?? (error ? 'Title not found' : undefined))

  if (isPending) {
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
  if (error) {
    const missing = error instanceof ApiError && error.status === 404
    return (
      <div className="page page--center">
        <h1>{missing ? 'This title is not available' : 'Could not load this title'}</h1>
        <p className="muted">{missing ? 'It may have left streamflix, or it is not available on this profile.' : describe(error)}</p>
        {missing ? (
          <Link className="btn btn--primary" to="/">
            Browse titles
          </Link>
        ) : (
          <button className="btn btn--primary" onClick={() => refetch()}>
            Try again
          </button>
        )}
      </div>
    )
  }

  const cast = t.people.filter((p) => p.role === 'actor').sort((a, b) => a.position - b.position)
  const directors = t.people.filter((p) => p.role === 'director')
  const creators = t.people.filter((p) => p.role === 'creator' || p.role === 'writer')
  const seasons = [...t.seasons].sort((a, b) => a.number - b.number)
  return (
    <div className="page page--title">
      <section className="title-hero" aria-labelledby="title-name">
        <Backdrop id={t.id} artwork={t.artwork} />
        <div className="title-hero__inner">
          <div className="title-hero__poster">
            <Poster id={t.id} name={t.name} artwork={t.artwork} kind={t.kind} sizes="(min-width: 800px) 240px, 40vw" eager />
          </div>
          <div className="title-hero__text">
            <h1 id="title-name" className="title-hero__name">
              {t.name}
            </h1>
            {t.original_name && t.original_name !== t.name && <p className="muted">{t.original_name}</p>}
            <p className="hero__meta">
              {t.maturity_rating && (
                <span className="rating" title="Maturity rating">
                  {t.maturity_rating}
                </span>
              )}
              <span>{t.year}</span>
              {t.kind === 'series' ? (
                <span className="dot-before">
                  {seasons.length} season{seasons.length === 1 ? '' : 's'}
                </span>
              ) : (
                !!t.runtime_minutes && <span className="dot-before">{runtime(t.runtime_minutes)}</span>
              )}
              {t.genres.map((g) => (
                <span key={g.id} className="dot-before">
                  {g.name}
                </span>
              ))}
            </p>
            <div className="hero__actions">
              <PlayButton playable={t.playable} action={subFailed ? (t.playable ? 'play' : 'coming-soon') : playAction(t.playable, sub)} />
            </div>
            {t.synopsis && <p className="title-hero__synopsis">{t.synopsis}</p>}
            <dl className="credits">
              {cast.length > 0 && (
                <div>
                  <dt>Starring</dt>
                  <dd>{cast.slice(0, 6).map((p) => p.name).join(', ')}</dd>
                </div>
              )}
              {directors.length > 0 && (
                <div>
                  <dt>{directors.length > 1 ? 'Directors' : 'Director'}</dt>
                  <dd>{directors.map((p) => p.name).join(', ')}</dd>
                </div>
              )}
              {creators.length > 0 && (
                <div>
                  <dt>Created by</dt>
                  <dd>{creators.map((p) => p.name).join(', ')}</dd>
                </div>
              )}
              {t.languages.length > 0 && (
                <div>
                  <dt>Languages</dt>
                  <dd>{t.languages.map(languageName).join(', ')}</dd>
                </div>
              )}
            </dl>
          </div>
        </div>
      </section>
      {t.kind === 'series' && <Episodes title={t} />}
      {t.related.length > 0 && (
        <FocusGrid className="rows">
          <Row title="More like this" items={t.related} />
        </FocusGrid>
      )}
    </div>
  )
}

// PlayButton stands where Play is: a viewer who may not watch is offered
// the plans instead.
export function PlayButton({ playable, action }: { playable: boolean; action: ReturnType<typeof playAction> }) {
  if (action === 'choose-plan') {
    return (
      <>
        <Link className="btn btn--primary btn--lg" to="/plans">
          <Icon name="play" />
          Choose a plan to watch
        </Link>
        <span className="muted">Subscribe to watch this and every title on streamflix.</span>
      </>
    )
  }
  const on = action === 'play' && playable
  return (
    <>
      <button className="btn btn--primary btn--lg" disabled={!on} aria-describedby={action === 'coming-soon' ? 'play-note' : undefined}>
        <Icon name="play" />Play
      </button>
      {action === 'coming-soon' && (
        <span id="play-note" className="muted">
          Coming soon
        </span>
      )}
    </>
  )
}

function languageName(code: string): string {
  try {
    return new Intl.DisplayNames(undefined, { type: 'language' }).of(code) ?? code
  } catch {
    return code
  }
}

function Episodes({ title }: { title: TitleDetails }) {
  const seasons = [...title.seasons].sort((a, b) => a.number - b.number)
  const [n, setN] = useState(seasons[0]?.number ?? 1)
  const season = seasons.find((s) => s.number === n) ?? seasons[0]
  if (!season) {
    return (
      <section className="episodes">
        <h2>Episodes</h2>
        <p className="muted">Episodes are on their way.</p>
      </section>
    )
  }
  const episodes = [...season.episodes].sort((a, b) => a.number - b.number)
  return (
    <section className="episodes" aria-labelledby="episodes-heading">
      <div className="episodes__head">
        <h2 id="episodes-heading">Episodes</h2>
        {seasons.length > 1 ? (
          <label className="season-select">
            <span className="sr-only">Season</span>
            <select value={season.number} onChange={(e) => setN(Number(e.target.value))}>
              {seasons.map((s) => (
                <option key={s.id} value={s.number}>
                  {s.name || `Season ${s.number}`}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <span className="muted">{season.name || `Season ${season.number}`}</span>
        )}
      </div>
      {season.synopsis && <p className="muted">{season.synopsis}</p>}
      {episodes.length === 0 ? (
        <p className="muted">Episodes of this season are on their way.</p>
      ) : (
        <ol className="episode-list" aria-label={`${season.name || `Season ${season.number}`} episodes`}>
          {episodes.map((e) => (
            <li key={e.id} className="episode">
              <span className="episode__number" aria-hidden="true">
                {e.number}
              </span>
              <div className="episode__body">
                <h3 className="episode__name">
                  <span className="sr-only">Episode {e.number}: </span>
                  {e.name}
                </h3>
                {e.synopsis && <p className="episode__synopsis">{e.synopsis}</p>}
              </div>
              {!!e.runtime_minutes && <span className="episode__runtime">{runtime(e.runtime_minutes)}</span>}
            </li>
          ))}
        </ol>
      )}
    </section>
  )
}
