import { useQuery } from '@tanstack/react-query'
import { describe } from '../api/http'
import type { Row as RowData, Title } from '../api/models'
import { client } from '../api/client'
import { call } from '../auth/client'
import { useCurrentProfile, useProfileId } from '../auth/session'
import { FocusGrid } from '../components/FocusGrid'
import { Hero } from '../components/Hero'
import { Row } from '../components/Row'
import { HeroSkeleton, RowSkeleton } from '../components/Skeleton'
import { useDocumentTitle } from '../lib/hooks'

// pickHero features the newest title that has a backdrop, else the newest.
function pickHero(rows: RowData[]): Title | undefined {
  const all = rows.flatMap((r) => r.items)
  return all.find((t) => {
    const a = t.artwork as { backdrop?: unknown } | null
    return !!a && typeof a.backdrop === 'object' && a.backdrop !== null
  }) ?? all[0]
}

export function Home() {
  const profileId = useProfileId()
  const profile = useCurrentProfile()
  useDocumentTitle('Home')
  const { data, error, isPending, refetch } = useQuery({
    queryKey: ['home', profileId],
    queryFn: () => call<{ rows: RowData[] }>((headers) => client.GET('/api/v1/catalog/home', { headers })),
  })

  if (isPending) {
    return (
      <div className="page page--home" aria-busy="true">
        <h1 className="sr-only">Home</h1>
        <span className="sr-only" role="status">
          Loading titles…
        </span>
        <HeroSkeleton />
        <div className="rows">
          <RowSkeleton />
          <RowSkeleton />
          <RowSkeleton />
        </div>
      </div>
    )
  }
  if (error) {
    return (
      <div className="page page--center">
        <h1>Home</h1>
        <p className="banner banner--error" role="alert">
          {describe(error)}
        </p>
        <button className="btn btn--primary" onClick={() => refetch()}>
          Try again
        </button>
      </div>
    )
  }
  const rows = data.rows.filter((r) => r.items.length > 0)
  const hero = pickHero(rows)
  return (
    <div className="page page--home">
      <h1 className="sr-only">{profile?.kids ? 'Kids home' : 'Home'}</h1>
      {hero ? (
        <Hero title={hero} />
      ) : (
        <div className="page page--center">
          <p className="muted">Nothing to watch here yet. New titles appear as soon as they are published.</p>
        </div>
      )}
      <FocusGrid className="rows">
        {rows.map((r, i) => (
          // Keyed by profile too: a row keeps the pages it loaded, which belong to one profile.
          <Row key={`${profileId}:${r.id}`} title={r.title} items={r.items} nextCursor={r.next_cursor} genre={r.genre} eager={i === 0} />
        ))}
      </FocusGrid>
    </div>
  )
}
