// Shapes of the JSON API (/api/openapi.json is the contract).

export interface FieldError {
  field: string
  code: string
  message: string
}

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: string
  request_id?: string
  errors?: FieldError[]
}

export interface SessionInfo {
  id: string
  device_name: string
  device_kind: string
  profile_id?: string
}

export interface Tokens {
  access_token: string
  token_type: string
  expires_in: number
  session: SessionInfo
}

export interface Account {
  id: string
  email: string
  email_verified: boolean
  roles: string[]
  created_at: string
}

export interface Profile {
  id: string
  name: string
  kids: boolean
  maturity_level: number
  language: string
  avatar: string
  has_pin: boolean
  created_at: string
}

export interface Session {
  id: string
  device_name: string
  device_kind: string
  ip: string
  user_agent: string
  created_at: string
  last_seen_at: string
  current: boolean
}

export interface ImageSize {
  width: number
  url: string
}

export interface Image {
  color: string
  sizes: ImageSize[]
}

export interface Genre {
  id: string
  slug: string
  name: string
}

export interface Title {
  id: string
  kind: 'movie' | 'series'
  name: string
  year: number
  genres: Genre[]
  maturity_rating: string
  maturity_level: number
  // artwork is {poster, backdrop}, each an Image or null; anything else
  // (older servers send strings) counts as no artwork.
  artwork: unknown
  playable: boolean
}

export interface Episode {
  id: string
  season_id: string
  number: number
  name: string
  synopsis: string
  runtime_minutes: number
  video_id: string
}

export interface Season {
  id: string
  title_id: string
  number: number
  name: string
  synopsis: string
  year: number
  episodes: Episode[]
}

export interface Credit {
  person_id: string
  name: string
  role: string
  character?: string
  position: number
}

export interface TitleDetails extends Title {
  original_name: string
  synopsis: string
  runtime_minutes: number
  languages: string[]
  tags: string[]
  people: Credit[]
  seasons: Season[]
  related: Title[]
}

export interface Row {
  id: string
  title: string
  genre?: string
  items: Title[]
  next_cursor?: string
}

export interface Page<T> {
  items: T[]
  next_cursor?: string
}

export interface Notification {
  id: string
  kind: string
  title: string
  body: string
  data: Record<string, string>
  read: boolean
  read_at?: string
  created_at: string
  event_id: number
}

export interface Preference {
  kind: string
  email: boolean
  in_app: boolean
  essential: boolean
  has_in_app: boolean
}
