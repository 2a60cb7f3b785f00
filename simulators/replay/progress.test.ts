import { describe, expect, it } from 'vitest'
import type { ReplayProgress } from './pace.ts'
import { createProgressDisplay, formatDuration, formatProgressLine, formatSummary } from './progress.ts'

const p = (done: number, total: number, extra: Partial<ReplayProgress> = {}): ReplayProgress => ({ loop: 0, done, total, elapsedMs: 1000, rate: 310, etaMs: 12_000, ...extra })

function fakeStream(isTTY: boolean): { write(s: string): boolean; isTTY: boolean; text: () => string } {
  let out = ''
  return { isTTY, write: (s: string) => ((out += s), true), text: () => out }
}

describe('plain progress lines (stderr is not a terminal)', () => {
  it('formats items, percentage, rate and ETA', () => {
    expect(formatProgressLine(p(1200, 5000))).toBe('replay: 1200/5000 (24%) 310 msg/s ETA 12s')
    expect(formatProgressLine(p(3, 10, { rate: 2.54, etaMs: undefined, loop: 1 }))).toBe('replay: pass 2: 3/10 (30%) 2.5 msg/s ETA ?')
  })

  it('prints at every 10 % and at most once a second otherwise', () => {
    const stream = fakeStream(false)
    let now = 0
    const d = createProgressDisplay({ stream, now: () => now })
    for (let done = 0; done <= 1000; done++) {
      now += 1 // 1 ms per message: only the 10 % steps print
      d.update(p(done, 1000))
    }
    const lines = stream.text().trim().split('\n')
    expect(lines).toHaveLength(10)
    expect(lines[0]).toMatch(/^replay: 100\/1000 \(10%\)/)
    expect(lines[9]).toMatch(/^replay: 1000\/1000 \(100%\)/)
    // Slow progress: one line per second even between steps.
    const slow = fakeStream(false)
    now = 0
    const s = createProgressDisplay({ stream: slow, now: () => now })
    s.update(p(0, 1000)) // the replayer reports each pass's start
    for (let done = 1; done <= 5; done++) {
      now += 1000
      s.update(p(done, 1000))
    }
    expect(slow.text().trim().split('\n')).toHaveLength(5)
  })

  it('ends with one summary line', () => {
    const stream = fakeStream(false)
    createProgressDisplay({ stream }).finish({ outcome: 'finished', published: 5000, total: 5000, loops: 1, elapsedMs: 16_130 }, 'mqtt://h:1883')
    expect(stream.text()).toBe('replay: 5000 message(s) in 16.1s (310 msg/s) to mqtt://h:1883\n')
    expect(formatSummary({ outcome: 'stopped', published: 7, total: 10, loops: 2, elapsedMs: 500 }, 'mqtt://h')).toBe(
      'replay: stopped after 7 acknowledged message(s) in 500ms (14 msg/s) to mqtt://h (recording holds 10, 2 full pass(es))',
    )
  })
})

describe('progress bar (stderr is a terminal)', () => {
  it('draws a cli-progress bar with items, rate and ETA, then the summary', () => {
    const stream = fakeStream(true)
    const d = createProgressDisplay({ stream })
    d.update(p(0, 10))
    d.update(p(10, 10))
    d.finish({ outcome: 'finished', published: 10, total: 10, loops: 1, elapsedMs: 1000 }, 'mqtt://h')
    expect(stream.text()).toMatch(/replay \[[█░]+\] 10\/10 100% \| 310 msg\/s \| ETA 12s/)
    expect(stream.text()).toContain('replay: 10 message(s) in 1.0s (10 msg/s) to mqtt://h\n')
  })
})

describe('formatDuration', () => {
  it.each([
    [850, false, '850ms'],
    [12_340, false, '12.3s'],
    [184_000, false, '3m04s'],
    [3_720_000, false, '1h02m'],
    [200, true, '1s'],
    [12_000, true, '12s'],
    [125_000, true, '2m05s'],
  ])('%d ms (whole %s) → %s', (ms, whole, text) => expect(formatDuration(ms, whole)).toBe(text))
})
