// Icons drawn inline, so they need no font that may be missing.
const paths = {
  play: 'M7 4.5v15l13-7.5z',
  info: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20Zm0 2a8 8 0 1 1 0 16 8 8 0 0 1 0-16Zm-1 7v6h2v-6Zm0-4v2h2V7Z',
  search: 'M10 3a7 7 0 0 1 5.6 11.2l5.1 5.1-1.4 1.4-5.1-5.1A7 7 0 1 1 10 3Zm0 2a5 5 0 1 0 0 10 5 5 0 0 0 0-10Z',
  close: 'M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6Z',
  pencil: 'M16.5 3.5a2.1 2.1 0 0 1 3 3L8 18l-4 1 1-4Z',
  lock: 'M12 2a5 5 0 0 0-5 5v3H5v12h14V10h-2V7a5 5 0 0 0-5-5Zm-3 8V7a3 3 0 0 1 6 0v3Z',
  plus: 'M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6Z',
  chevronLeft: 'M15 5 8 12l7 7 1.4-1.4L10.8 12l5.6-5.6Z',
  chevronRight: 'M9 5 7.6 6.4l5.6 5.6-5.6 5.6L9 19l7-7Z',
  tv: 'M3 5h18v12H3Zm2 2v8h14V7Zm3 12h8v2H8Z',
  phone: 'M7 2h10v20H7Zm2 2v14h6V4Zm2 15h2v1h-2Z',
  laptop: 'M4 5h16v10H4Zm2 2v6h12V7ZM2 17h20v2H2Z',
} as const

export type IconName = keyof typeof paths

export function Icon({ name, size = '1em', className }: { name: IconName; size?: string; className?: string }) {
  return (
    <svg className={`icon ${className ?? ''}`} viewBox="0 0 24 24" width={size} height={size} aria-hidden="true" focusable="false">
      <path d={paths[name]} fill="currentColor" />
    </svg>
  )
}
