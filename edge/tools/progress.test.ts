import { describe, expect, it } from 'vitest'
import { createProgress, formatProgressLine } from './progress.ts'

describe('edge tool progress', () => {
  it('plain lines off a terminal: at every 10 % or once per interval, with rate and ETA', () => {
    let t = 0
    let text = ''
    const p = createProgress({ label: 'scan', items: 'probes', stream: { write: (s: string) => (text += s) }, now: () => t })
    for (let i = 1; i <= 100; i++) {
      t = i * 100
      p.update(i, 100)
    }
    p.stop()
    const lines = text.trim().split('\n')
    expect(lines).toHaveLength(10)
    expect(lines[0]).toBe('scan: 10/100 (10%) 10 probes/s ETA 9s')
    expect(lines.at(-1)).toBe('scan: 100/100 (100%) 10 probes/s ETA 0s')
  })

  it('formats a line', () => {
    expect(formatProgressLine('scan', 'probes', 120, 500, 9.84, 39_000)).toBe('scan: 120/500 (24%) 9.8 probes/s ETA 39s')
  })
})
