import { useRef, type KeyboardEvent, type ReactNode } from 'react'
import { isGridKey, nextPosition } from '../lib/focusGrid'

// FocusGrid moves focus across the rows inside it with the arrow keys, as a
// TV remote does. Rows mark their track with data-grid-track and cards with
// data-grid-card; each row keeps one card in the Tab order (see useRoving).
export function FocusGrid({ children, className }: { children: ReactNode; className?: string }) {
  const ref = useRef<HTMLDivElement>(null)
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (!isGridKey(e.key) || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || !ref.current) return
    const card = (e.target as HTMLElement).closest<HTMLElement>('[data-grid-card]')
    if (!card) return
    const tracks = [...ref.current.querySelectorAll<HTMLElement>('[data-grid-track]')]
    const cards = tracks.map((t) => [...t.querySelectorAll<HTMLElement>('[data-grid-card]')])
    const row = tracks.findIndex((t) => t.contains(card))
    if (row < 0) return
    const col = cards[row].indexOf(card)
    const next = nextPosition(
      cards.map((c) => c.length),
      { row, col },
      e.key,
      tracks.map((t, i) => firstVisible(t, cards[i])),
    )
    if (!next) return
    e.preventDefault()
    const target = cards[next.row][next.col]
    target.focus({ preventScroll: true })
    const smooth = !window.matchMedia?.('(prefers-reduced-motion: reduce)').matches
    target.scrollIntoView?.({ block: 'nearest', inline: 'nearest', behavior: smooth ? 'smooth' : 'auto' })
  }
  return (
    <div ref={ref} className={className} onKeyDown={onKeyDown}>
      {children}
    </div>
  )
}

// firstVisible is the index of the first card whose left edge is in view
// in its scrolled track (0 where layout is unknown).
function firstVisible(track: HTMLElement, cards: HTMLElement[]): number {
  const left = track.getBoundingClientRect().left
  const i = cards.findIndex((c) => c.getBoundingClientRect().left >= left - 2)
  return Math.max(0, i)
}
