import { render, screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { MemoryRouter } from 'react-router'
import { describe, expect, it } from 'vitest'
import type { Title } from '../api/models'
import { FocusGrid } from './FocusGrid'
import { Row } from './Row'

const title = (id: string, name: string): Title => ({
  id, name, kind: 'movie', year: 2020, genres: [], maturity_rating: 'PG', maturity_level: 20, artwork: null as unknown as Title['artwork'], playable: false,
})

function setup() {
  const rows = [
    ['Alpha', 'Bravo', 'Charlie', 'Delta'],
    ['Echo', 'Foxtrot'],
    ['Golf', 'Hotel', 'India'],
  ]
  render(
    <MemoryRouter>
      <FocusGrid>
        {rows.map((names, r) => (
          <Row key={r} title={`Row ${r}`} items={names.map((n) => title(`${r}-${n}`, n))} />
        ))}
      </FocusGrid>
    </MemoryRouter>,
  )
  const card = (name: string) => screen.getByRole('link', { name: new RegExp(`^${name},`) })
  return { user: userEvent.setup(), card }
}

describe('FocusGrid', () => {
  it('moves focus along a row and between rows with the arrow keys', async () => {
    const { user, card } = setup()
    card('Alpha').focus()
    await user.keyboard('{ArrowRight}')
    expect(card('Bravo')).toHaveFocus()
    await user.keyboard('{ArrowRight}{ArrowRight}{ArrowRight}') // stops at the end
    expect(card('Delta')).toHaveFocus()
    await user.keyboard('{ArrowDown}') // clamps to the shorter row
    expect(card('Foxtrot')).toHaveFocus()
    await user.keyboard('{ArrowDown}')
    expect(card('Hotel')).toHaveFocus()
    await user.keyboard('{Home}')
    expect(card('Golf')).toHaveFocus()
    await user.keyboard('{End}')
    expect(card('India')).toHaveFocus()
    await user.keyboard('{ArrowUp}{ArrowUp}{ArrowUp}') // stops at the first row
    expect(card('Bravo')).toHaveFocus()
  })

  it('keeps one card per row in the Tab order: the last one focused', async () => {
    const { user, card } = setup()
    expect(card('Alpha')).toHaveAttribute('tabindex', '0')
    expect(card('Bravo')).toHaveAttribute('tabindex', '-1')
    card('Alpha').focus()
    await user.keyboard('{ArrowRight}{ArrowRight}')
    expect(card('Charlie')).toHaveAttribute('tabindex', '0')
    expect(card('Alpha')).toHaveAttribute('tabindex', '-1')
    await user.tab()
    expect(card('Echo')).toHaveFocus() // Tab goes to the next row
    await user.tab({ shift: true })
    expect(card('Charlie')).toHaveFocus() // and back to where the row was left
  })

  it('labels cards for screen readers', () => {
    const { card } = setup()
    expect(card('Alpha')).toHaveAccessibleName('Alpha, film, 2020, rated PG')
    expect(screen.getByRole('region', { name: 'Row 1' })).toBeInTheDocument()
  })
})
