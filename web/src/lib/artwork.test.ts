import { describe, expect, it } from 'vitest'
import { fallbackSrc, image, srcSet } from './artwork'

describe('artwork', () => {
  const poster = { color: '#1f2a44', sizes: [{ width: 342, url: '/media/a/342.jpg' }, { width: 185, url: '/media/a/185.jpg' }] }

  it('reads the image shape, sizes ascending', () => {
    const img = image({ poster, backdrop: null }, 'poster')
    expect(img).toEqual({ color: '#1f2a44', sizes: [{ width: 185, url: '/media/a/185.jpg' }, { width: 342, url: '/media/a/342.jpg' }] })
    expect(srcSet(img!)).toBe('/media/a/185.jpg 185w, /media/a/342.jpg 342w')
    expect(fallbackSrc(img!, 200)).toBe('/media/a/342.jpg')
    expect(fallbackSrc(img!, 1000)).toBe('/media/a/342.jpg')
  })

  it.each([
    ['null', null],
    ['string keys from older servers', { poster: '/x.jpg', backdrop: '' }],
    ['no sizes', { poster: { color: '#fff', sizes: [] } }],
    ['missing kind', { backdrop: poster }],
  ])('treats %s as no artwork', (_n, artwork) => {
    expect(image(artwork, 'poster')).toBeNull()
  })

  it('replaces a colour that is not a hex colour', () => {
    expect(image({ poster: { ...poster, color: 'url(javascript:x)' } }, 'poster')?.color).toBe('#222')
  })
})
