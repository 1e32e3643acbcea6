import { useEffect, useId, useRef, useState } from 'react'
import type { Page, Title } from '../api/models'
import { client } from '../api/client'
import { call } from '../auth/client'
import { Icon } from './Icon'
import { TitleCard } from './TitleCard'

interface RowProps {
  title: string
  items: Title[]
  // nextCursor pages the row with GET /titles (by genre, when given).
  nextCursor?: string
  genre?: string
  eager?: boolean
}

// titlesPage pages a home row: by genre, or all titles for "New releases".
const titlesPage = (genre: string | undefined, cursor: string) =>
  call<Page<Title>>((headers) => client.GET('/api/v1/titles', { headers, params: { query: genre ? { genre, cursor } : { cursor } } }))

// Row is a horizontally scrolling row of titles. It loads its next page as
// the end comes into view, and keeps one card in the Tab order (the last
// one focused): arrows move along it, Tab moves to the next row.
export function Row({ title, items: first, nextCursor, genre, eager }: RowProps) {
  const [items, setItems] = useState(first)
  const [cursor, setCursor] = useState(nextCursor)
  const [loading, setLoading] = useState(false)
  const [active, setActive] = useState(0)
  const trackRef = useRef<HTMLUListElement>(null)
  const endRef = useRef<HTMLLIElement>(null)
  const headingId = useId()

  useEffect(() => {
    if (!cursor || !endRef.current || typeof IntersectionObserver === 'undefined') return
    const io = new IntersectionObserver(
      (entries) => {
        if (!entries.some((e) => e.isIntersecting) || loading) return
        setLoading(true)
        titlesPage(genre, cursor)
          .then((p) => {
            setItems((prev) => [...prev, ...p.items.filter((t) => !prev.some((x) => x.id === t.id))])
            setCursor(p.next_cursor)
          })
          .catch(() => {
            // Keep what is shown; the next scroll tries again.
          })
          .finally(() => setLoading(false))
      },
      { root: trackRef.current, rootMargin: '0px 600px 0px 0px' },
    )
    io.observe(endRef.current)
    return () => io.disconnect()
  }, [genre, cursor, loading])

  const scrollBy = (dir: number) => {
    const t = trackRef.current
    if (t) t.scrollBy({ left: dir * t.clientWidth * 0.85, behavior: 'smooth' })
  }

  if (items.length === 0) return null
  return (
    <section className="row" aria-labelledby={headingId}>
      <h2 className="row__title" id={headingId}>
        {title}
      </h2>
      <div className="row__viewport">
        <button className="row__scroll row__scroll--prev" tabIndex={-1} aria-hidden="true" onClick={() => scrollBy(-1)}>
          <Icon name="chevronLeft" />
        </button>
        <ul className="row__track" ref={trackRef} data-grid-track="">
          {items.map((t, i) => (
            <TitleCard key={t.id} title={t} tabIndex={i === active ? 0 : -1} onFocus={() => setActive(i)} eager={eager && i < 6} />
          ))}
          {cursor && (
            <li className="card card--more" ref={endRef} aria-hidden="true">
              {loading && <div className="skeleton skeleton--poster" />}
            </li>
          )}
        </ul>
        <button className="row__scroll row__scroll--next" tabIndex={-1} aria-hidden="true" onClick={() => scrollBy(1)}>
          <Icon name="chevronRight" />
        </button>
      </div>
    </section>
  )
}
