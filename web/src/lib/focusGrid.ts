// Focus movement across rows of cards, as on a TV remote: left and right
// move along a row, up and down move to the row above or below, landing on
// the card in the same place on screen (the same offset from the first
// fully visible card), Home and End jump to a row's ends.

export interface Position {
  row: number
  col: number
}

export type Key = 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown' | 'Home' | 'End'

export const isGridKey = (k: string): k is Key =>
  k === 'ArrowLeft' || k === 'ArrowRight' || k === 'ArrowUp' || k === 'ArrowDown' || k === 'Home' || k === 'End'

// nextPosition returns where focus goes from at on key, or null when it
// stays (an edge, or an empty grid). lengths[i] is how many cards row i
// has; firstVisible[i], when known, is the index of row i's first card in
// view. Empty rows are skipped when moving up and down.
export function nextPosition(lengths: number[], at: Position, key: Key, firstVisible?: number[]): Position | null {
  const len = lengths[at.row] ?? 0
  switch (key) {
    case 'ArrowLeft':
      return at.col > 0 ? { row: at.row, col: at.col - 1 } : null
    case 'ArrowRight':
      return at.col < len - 1 ? { row: at.row, col: at.col + 1 } : null
    case 'Home':
      return at.col > 0 ? { row: at.row, col: 0 } : null
    case 'End':
      return at.col < len - 1 ? { row: at.row, col: len - 1 } : null
    case 'ArrowUp':
    case 'ArrowDown': {
      const step = key === 'ArrowUp' ? -1 : 1
      let row = at.row + step
      while (row >= 0 && row < lengths.length && lengths[row] === 0) row += step
      if (row < 0 || row >= lengths.length) return null
      const offset = at.col - (firstVisible?.[at.row] ?? 0)
      const col = (firstVisible?.[row] ?? 0) + Math.max(0, offset)
      return { row, col: Math.min(Math.max(col, 0), lengths[row] - 1) }
    }
  }
}
