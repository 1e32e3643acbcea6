import { render, screen } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { describe, expect, it } from 'vitest'
import { PlayButton } from './TitlePage'

function show(playable: boolean, action: Parameters<typeof PlayButton>[0]['action']) {
  render(
    <MemoryRouter>
      <PlayButton playable={playable} action={action} />
    </MemoryRouter>,
  )
}

describe('PlayButton (the paywall)', () => {
  it('offers the plans instead of Play to a viewer without a plan', () => {
    show(true, 'choose-plan')
    expect(screen.getByRole('link', { name: 'Choose a plan to watch' })).toHaveAttribute('href', '/plans')
    expect(screen.queryByRole('button', { name: 'Play' })).toBeNull()
    expect(screen.queryByText('Coming soon')).toBeNull()
  })
  it('plays for an entitled viewer', () => {
    show(true, 'play')
    expect(screen.getByRole('button', { name: 'Play' })).toBeEnabled()
  })
  it('says coming soon when an entitled viewer’s title has no video yet', () => {
    show(false, 'coming-soon')
    expect(screen.getByRole('button', { name: 'Play' })).toBeDisabled()
    expect(screen.getByRole('button', { name: 'Play' })).toHaveAccessibleDescription('Coming soon')
  })
  it('holds Play while the subscription loads', () => {
    show(true, 'wait')
    expect(screen.getByRole('button', { name: 'Play' })).toBeDisabled()
    expect(screen.queryByRole('link')).toBeNull()
  })
})
