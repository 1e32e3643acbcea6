import { describe, expect, it } from 'vitest'
import { nextPosition, type Key } from './focusGrid'

describe('nextPosition', () => {
  const lengths = [5, 3, 0, 8]
  const cases: [string, { row: number; col: number }, Key, { row: number; col: number } | null, number[]?][] = [
    ['right moves along the row', { row: 0, col: 1 }, 'ArrowRight', { row: 0, col: 2 }],
    ['right stops at the end of the row', { row: 0, col: 4 }, 'ArrowRight', null],
    ['left moves back', { row: 0, col: 3 }, 'ArrowLeft', { row: 0, col: 2 }],
    ['left stops at the start', { row: 1, col: 0 }, 'ArrowLeft', null],
    ['down keeps the column', { row: 0, col: 2 }, 'ArrowDown', { row: 1, col: 2 }],
    ['down clamps to a shorter row', { row: 0, col: 4 }, 'ArrowDown', { row: 1, col: 2 }],
    ['down skips an empty row', { row: 1, col: 1 }, 'ArrowDown', { row: 3, col: 1 }],
    ['up skips an empty row', { row: 3, col: 6 }, 'ArrowUp', { row: 1, col: 2 }],
    ['up stops at the first row', { row: 0, col: 1 }, 'ArrowUp', null],
    ['down stops at the last row', { row: 3, col: 0 }, 'ArrowDown', null],
    ['home jumps to the start', { row: 3, col: 5 }, 'Home', { row: 3, col: 0 }],
    ['end jumps to the end', { row: 3, col: 5 }, 'End', { row: 3, col: 7 }],
    ['home at the start stays', { row: 3, col: 0 }, 'Home', null],
    // Row 1 is scrolled so that card 1 is first in view; row 3 so that card 4 is.
    ['down keeps the place on screen of a scrolled row', { row: 1, col: 2 }, 'ArrowDown', { row: 3, col: 5 }, [0, 1, 0, 4]],
    ['up lands on the first visible card of a scrolled row', { row: 3, col: 4 }, 'ArrowUp', { row: 1, col: 0 }, [0, 0, 0, 4]],
  ]
  for (const [name, at, key, want, visible] of cases) {
    it(name, () => {
      expect(nextPosition(lengths, at, key, visible)).toEqual(want)
    })
  }

  it('stays put on an empty grid', () => {
    expect(nextPosition([], { row: 0, col: 0 }, 'ArrowRight')).toBeNull()
    expect(nextPosition([0], { row: 0, col: 0 }, 'ArrowDown')).toBeNull()
  })
})
