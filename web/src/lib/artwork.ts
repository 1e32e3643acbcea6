import type { Image } from '../api/models'

// image returns the artwork image of kind, or null when the title has none
// in the shape {color, sizes: [{width, url}...]} (older servers sent plain
// strings: those count as none).
export function image(artwork: unknown, kind: 'poster' | 'backdrop'): Image | null {
  if (!artwork || typeof artwork !== 'object') return null
  const img = (artwork as Record<string, unknown>)[kind]
  if (!img || typeof img !== 'object') return null
  const { color, sizes } = img as { color?: unknown; sizes?: unknown }
  if (!Array.isArray(sizes)) return null
  const ok = sizes
    .filter((s): s is { width: number; url: string } => !!s && typeof s.width === 'number' && s.width > 0 && typeof s.url === 'string' && s.url !== '')
    .sort((a, b) => a.width - b.width)
  if (ok.length === 0) return null
  return { color: typeof color === 'string' && /^#[0-9a-fA-F]{3,8}$/.test(color) ? color : '#222', sizes: ok }
}

export const srcSet = (img: Image) => img.sizes.map((s) => `${s.url} ${s.width}w`).join(', ')

// fallbackSrc is the smallest size at least min wide (for browsers without
// srcset, and as the src attribute).
export function fallbackSrc(img: Image, min: number): string {
  return (img.sizes.find((s) => s.width >= min) ?? img.sizes[img.sizes.length - 1]).url
}

// hue picks a stable colour for a title without artwork, from its id.
export function hue(id: string): number {
  let h = 0
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0
  return h % 360
}
