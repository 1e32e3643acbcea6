import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { useEffect, useState } from 'react'
import { useSearchParams } from 'react-router'
import { describe } from '../api/http'
import type { Genre, Page, Title } from '../api/models'
import { client } from '../api/client'
import { call } from '../auth/client'
import { useProfileId } from '../auth/session'
import { Icon } from '../components/Icon'
import { TitleCard } from '../components/TitleCard'
import { useDebounced, useDocumentTitle } from '../lib/hooks'

type Kind = '' | 'movie' | 'series'

// Search searches as the user types (typos forgiven by the API), with
// filters by genre, kind and year; the URL holds the query so that a
// search can be shared and survives a reload.
export default function Search() {
  useDocumentTitle('Search')
  const profileId = useProfileId()
  const [params, setParams] = useSearchParams()
  const [q, setQ] = useState(params.get('q') ?? '')
  const genre = params.get('genre') ?? ''
  const kind = (params.get('kind') ?? '') as Kind
  const [year, setYear] = useState(params.get('year') ?? '')
  const dq = useDebounced(q.trim(), 250)
  const dyear = useDebounced(year.trim(), 400)
  const yearValid = dyear === '' || /^\d{4}$/.test(dyear)

  // Keep the URL in step with what is typed (replace: typing is not history).
  useEffect(() => {
    const next = new URLSearchParams()
    if (dq) next.set('q', dq)
    if (genre) next.set('genre', genre)
    if (kind) next.set('kind', kind)
    if (dyear && yearValid) next.set('year', dyear)
    if (next.toString() !== params.toString()) setParams(next, { replace: true })
  }, [dq, genre, kind, dyear, yearValid, params, setParams])

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(params)
    if (value) next.set(name, value)
    else next.delete(name)
    setParams(next, { replace: true })
  }

  const genres = useQuery({ queryKey: ['genres'], queryFn: () => call((headers) => client.GET('/api/v1/genres', { headers })).then((r): Genre[] => r.items), staleTime: 10 * 60_000 })

  const filters = new URLSearchParams()
  if (genre) filters.set('genre', genre)
  if (kind) filters.set('kind', kind)
  if (dyear && yearValid) filters.set('year', dyear)
  filters.set('limit', '40')
  const active = dq !== '' || genre !== '' || kind !== '' || (dyear !== '' && yearValid)
  const results = useQuery({
    queryKey: ['search', profileId, dq, filters.toString()],
    queryFn: ({ signal }) => {
      const query = Object.fromEntries(filters)
      return call<Page<Title>>((headers) =>
        dq
          ? client.GET('/api/v1/search', { headers, signal, params: { query: { ...query, q: dq } } })
          : client.GET('/api/v1/titles', { headers, signal, params: { query } }),
      )
    },
    enabled: active,
    placeholderData: keepPreviousData,
  })

  const items = results.data?.items ?? []
  const status = !active ? '' : results.isFetching && !results.data ? 'Searching…' : results.error ? '' : `${items.length}${results.data?.next_cursor ? '+' : ''} title${items.length === 1 ? '' : 's'} found`

  return (
    <div className="page page--search">
      <h1 className="page__title">Search</h1>
      <form className="search-bar" role="search" onSubmit={(e) => e.preventDefault()}>
        <label htmlFor="search-q" className="sr-only">
          Search titles, people and genres
        </label>
        <Icon name="search" className="search-bar__icon" />
        <input id="search-q" type="search" name="q" placeholder="Titles, people, genres" autoComplete="off" autoFocus value={q} onChange={(e) => setQ(e.target.value)} />
        {q && (
          <button type="button" className="search-bar__clear" onClick={() => setQ('')}>
            <Icon name="close" />
            <span className="sr-only">Clear the search</span>
          </button>
        )}
      </form>
      <div className="filters" role="group" aria-label="Filters">
        <label className="filter">
          <span>Genre</span>
          <select value={genre} onChange={(e) => setFilter('genre', e.target.value)}>
            <option value="">All genres</option>
            {genres.data?.map((g) => (
              <option key={g.id} value={g.slug}>
                {g.name}
              </option>
            ))}
          </select>
        </label>
        <fieldset className="segmented">
          <legend className="sr-only">Kind</legend>
          {(
            [
              ['', 'All'],
              ['movie', 'Films'],
              ['series', 'Series'],
            ] as const
          ).map(([value, label]) => (
            <label key={value} className={kind === value ? 'is-on' : ''}>
              <input type="radio" name="kind" value={value} checked={kind === value} onChange={() => setFilter('kind', value)} />
              {label}
            </label>
          ))}
        </fieldset>
        <label className={`filter filter--year${yearValid ? '' : ' field--error'}`}>
          <span>Year</span>
          <input inputMode="numeric" maxLength={4} placeholder="Any" value={year} onChange={(e) => setYear(e.target.value.replace(/\D/g, ''))} aria-invalid={!yearValid || undefined} aria-describedby={yearValid ? undefined : 'year-error'} />
        </label>
        {!yearValid && (
          <p className="field__error" id="year-error">
            A year has four digits, like 1994.
          </p>
        )}
      </div>
      <p className="sr-only" role="status" aria-live="polite">
        {status}
      </p>
      {results.error && (
        <p className="banner banner--error" role="alert">
          {describe(results.error)}
        </p>
      )}
      {!active && <p className="muted search-hint">Find films and series by title, by the people in them, or by genre. Spelling mistakes are fine.</p>}
      {active && results.isPending && (
        <ul className="grid" aria-hidden="true">
          {Array.from({ length: 12 }, (_, i) => (
            <li key={i} className="card">
              <div className="skeleton skeleton--poster" />
            </li>
          ))}
        </ul>
      )}
      {active && results.data && items.length === 0 && (
        <div className="empty">
          <p>
            No titles match {dq ? <strong>“{dq}”</strong> : 'these filters'}
            {dq && (genre || kind || dyear) ? ' with these filters' : ''}.
          </p>
          <p className="muted">Try another word, or fewer filters.</p>
        </div>
      )}
      {items.length > 0 && (
        <ul className={`grid${results.isFetching ? ' grid--stale' : ''}`} aria-label="Results">
          {items.map((t) => (
            <TitleCard key={t.id} title={t} />
          ))}
        </ul>
      )}
    </div>
  )
}
