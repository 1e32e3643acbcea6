// The catalog the end-to-end tests browse, made through the admin API:
// grown-up and kids titles across genres, series with seasons and episodes.

export const GENRES = [
  { slug: 'drama', name: 'Drama' },
  { slug: 'sci-fi', name: 'Science fiction' },
  { slug: 'comedy', name: 'Comedy' },
  { slug: 'animation', name: 'Animation' },
  { slug: 'thriller', name: 'Thriller' },
]

export const PEOPLE = ['Ada Moreno', 'Jonas Ek', 'Priya Nair', 'Tomás Varga', 'Lena Fischer', 'Kwame Asante']

// Titles; kids: true marks those a kids profile (maturity 20) may see.
export const TITLES = [
  {
    kind: 'movie', name: 'The Lighthouse Keeper', maturity_rating: 'R', release_year: 2021, runtime_minutes: 112, genres: ['drama', 'thriller'],
    synopsis: 'A keeper on a storm-beaten island finds a logbook that predicts every shipwreck, including the next one.',
    cast: ['Ada Moreno', 'Tomás Varga'], director: 'Jonas Ek', languages: ['en', 'pt'],
  },
  {
    kind: 'series', name: 'Orbit of Ashes', maturity_rating: 'TV-MA', release_year: 2022, genres: ['sci-fi', 'drama'],
    synopsis: 'The crew of a failing mining station must decide who goes home on the last shuttle.',
    cast: ['Priya Nair', 'Kwame Asante'], creator: 'Lena Fischer',
    seasons: [
      { name: 'Season 1', year: 2022, episodes: ['Dead Reckoning', 'Cold Storage', 'The Manifest'] },
      { name: 'Season 2', year: 2024, episodes: ['Perihelion', 'Ballast', 'Last Light', 'Burn'] },
    ],
  },
  { kind: 'movie', name: 'Midnight Harbour', maturity_rating: 'PG-13', release_year: 2019, runtime_minutes: 98, genres: ['thriller'], synopsis: 'A night ferry, a missing passenger and a captain with something to hide.', cast: ['Kwame Asante'] },
  { kind: 'series', name: 'The Quiet Detective', maturity_rating: 'TV-14', release_year: 2018, genres: ['drama', 'thriller'], synopsis: 'A detective who never raises her voice solves the cases nobody else will take.', cast: ['Lena Fischer'], seasons: [{ name: 'Season 1', year: 2018, episodes: ['The Unlocked Door', 'Paper Trail'] }] },
  { kind: 'movie', name: 'Salt and Stone', maturity_rating: 'R', release_year: 2016, runtime_minutes: 131, genres: ['drama'], synopsis: 'Two sisters inherit a failing salt farm and a feud older than both of them.' },
  { kind: 'series', name: 'Northern Static', maturity_rating: 'TV-14', release_year: 2024, genres: ['sci-fi'], synopsis: 'A radio station at the edge of the Arctic starts receiving tomorrow’s news.', seasons: [{ name: 'Season 1', year: 2024, episodes: ['Signal', 'Noise'] }] },
  { kind: 'movie', name: 'Glass Garden', maturity_rating: 'PG-13', release_year: 2022, runtime_minutes: 104, genres: ['comedy', 'drama'], synopsis: 'A botanist and a burglar share a greenhouse for one very long weekend.' },
  { kind: 'movie', name: 'Laugh Track', maturity_rating: 'PG', release_year: 2017, runtime_minutes: 92, genres: ['comedy'], synopsis: 'A sitcom audience member wakes up inside the show.', kids: true },
  { kind: 'movie', name: 'Paper Moon Parade', maturity_rating: 'G', release_year: 2020, runtime_minutes: 81, genres: ['animation', 'comedy'], synopsis: 'Origami animals march across the city to bring the moon home.', kids: true },
  { kind: 'series', name: 'Puddle Jumpers', maturity_rating: 'TV-Y', release_year: 2023, genres: ['animation'], synopsis: 'Three frogs, one pond, endless rainy-day adventures.', kids: true, seasons: [{ name: 'Season 1', year: 2023, episodes: ['Big Splash', 'Lily Pad Race', 'The Heron'] }] },
  { kind: 'series', name: 'Tiny Robots', maturity_rating: 'TV-Y7', release_year: 2021, genres: ['animation', 'sci-fi'], synopsis: 'Pocket-sized robots fix the world one bolt at a time.', kids: true, seasons: [{ name: 'Season 1', year: 2021, episodes: ['Power Up', 'Loose Screw'] }] },
  { kind: 'movie', name: 'Kite Season', maturity_rating: 'PG', release_year: 2015, runtime_minutes: 88, genres: ['drama', 'comedy'], synopsis: 'A village kite festival, a rivalry and the windiest summer on record.', kids: true },
]

export const KIDS_TITLES = TITLES.filter((t) => t.kids).map((t) => t.name)
export const ADULT_ONLY_TITLES = TITLES.filter((t) => !t.kids).map((t) => t.name)

// seed makes the catalog and returns the titles by name ({id, ...}).
export async function seed(admin) {
  for (const g of GENRES) await admin('POST', '/admin/genres', g)
  const people = {}
  for (const name of PEOPLE) people[name] = (await admin('POST', '/admin/people', { name })).id
  const byName = {}
  for (const t of TITLES) {
    const credits = [
      ...(t.cast ?? []).map((n) => ({ person_id: people[n], role: 'actor' })),
      ...(t.director ? [{ person_id: people[t.director], role: 'director' }] : []),
      ...(t.creator ? [{ person_id: people[t.creator], role: 'creator' }] : []),
    ]
    const body = {
      kind: t.kind, name: t.name, maturity_rating: t.maturity_rating, release_year: t.release_year, synopsis: t.synopsis,
      genres: t.genres, people: credits, languages: t.languages ?? ['en'],
      ...(t.runtime_minutes ? { runtime_minutes: t.runtime_minutes } : {}),
    }
    const created = await admin('POST', '/admin/titles', body)
    for (const [i, s] of (t.seasons ?? []).entries()) {
      const season = await admin('POST', `/admin/titles/${created.id}/seasons`, { number: i + 1, name: s.name, year: s.year, synopsis: '' })
      for (const [j, name] of s.episodes.entries()) {
        await admin('POST', `/admin/seasons/${season.id}/episodes`, {
          number: j + 1, name, runtime_minutes: 42 + j, synopsis: `${t.name}, ${s.name.toLowerCase()}, episode ${j + 1}: ${name}.`,
        })
      }
    }
    await admin('POST', `/admin/titles/${created.id}/publish`)
    byName[t.name] = created
  }
  return byName
}
