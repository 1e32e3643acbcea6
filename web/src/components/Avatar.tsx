import type { CSSProperties } from 'react'

// The avatars a profile can pick; the API stores the id.
export const AVATARS: { id: string; label: string; color: string }[] = [
  { id: 'red', label: 'Red', color: '#e50914' },
  { id: 'blue', label: 'Blue', color: '#2b6cd4' },
  { id: 'green', label: 'Green', color: '#1f9d55' },
  { id: 'yellow', label: 'Yellow', color: '#e0a800' },
  { id: 'purple', label: 'Purple', color: '#7b3fe4' },
  { id: 'teal', label: 'Teal', color: '#0e9f9a' },
  { id: 'orange', label: 'Orange', color: '#ee6c1d' },
  { id: 'pink', label: 'Pink', color: '#d63384' },
]

export function avatarColor(id: string, fallbackKey: string): string {
  const a = AVATARS.find((x) => x.id === id)
  if (a) return a.color
  let h = 0
  for (const c of fallbackKey) h = (h * 31 + c.charCodeAt(0)) >>> 0
  return AVATARS[h % AVATARS.length].color
}

// Avatar is a profile's picture: a face on its colour.
export function Avatar({ avatar, name, kids, size = 'md' }: { avatar: string; name: string; kids?: boolean; size?: 'sm' | 'md' | 'lg' }) {
  return (
    <span className={`avatar avatar--${size}${kids ? ' avatar--kids' : ''}`} style={{ '--avatar': avatarColor(avatar, name) } as CSSProperties} aria-hidden="true">
      <svg viewBox="0 0 64 64" width="100%" height="100%">
        <circle cx="22" cy="26" r="4.5" fill="currentColor" />
        <circle cx="42" cy="26" r="4.5" fill="currentColor" />
        {kids ? (
          <path d="M18 38c4 9 24 9 28 0" stroke="currentColor" strokeWidth="4.5" fill="none" strokeLinecap="round" />
        ) : (
          <path d="M20 40c5 5 19 5 24 0" stroke="currentColor" strokeWidth="4" fill="none" strokeLinecap="round" />
        )}
      </svg>
      {kids && <span className="avatar__badge">Kids</span>}
    </span>
  )
}
