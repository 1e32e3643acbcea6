import type { CSSProperties } from 'react'
import { fallbackSrc, hue, image, srcSet } from '../lib/artwork'

// Poster is a title's 2:3 artwork: the image at the width the layout needs
// (srcset + sizes), loaded lazily over its own dominant colour; without
// artwork, a typeset cover in a colour of its own.
export function Poster({ id, name, artwork, kind, sizes, eager }: { id: string; name: string; artwork: unknown; kind?: string; sizes: string; eager?: boolean }) {
  const img = image(artwork, 'poster')
  if (img) {
    return (
      <div className="art art--poster" style={{ backgroundColor: img.color }}>
        <img src={fallbackSrc(img, 342)} srcSet={srcSet(img)} sizes={sizes} alt="" loading={eager ? 'eager' : 'lazy'} decoding="async" width={2} height={3} />
      </div>
    )
  }
  return (
    <div className="art art--poster art--fallback" style={{ '--h': hue(id) } as CSSProperties}>
      <span className="art__kind">{kind === 'series' ? 'Series' : 'Film'}</span>
      <span className="art__name">{name}</span>
    </div>
  )
}

// Backdrop is a title's 16:9 artwork, for heroes.
export function Backdrop({ id, artwork, eager = true }: { id: string; artwork: unknown; eager?: boolean }) {
  const img = image(artwork, 'backdrop')
  if (img) {
    return (
      <div className="backdrop" style={{ backgroundColor: img.color }}>
        <img src={fallbackSrc(img, 1280)} srcSet={srcSet(img)} sizes="100vw" alt="" loading={eager ? 'eager' : 'lazy'} fetchPriority={eager ? 'high' : 'auto'} decoding="async" />
      </div>
    )
  }
  return <div className="backdrop backdrop--fallback" style={{ '--h': hue(id) } as CSSProperties} />
}
