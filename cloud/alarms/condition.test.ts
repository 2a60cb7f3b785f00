import { describe, expect, it } from 'vitest'
import { NORMAL, step, type Condition, type Target } from './condition.ts'

const HI: Target = { level: 'hi', severity: 'MAJOR' }
const HIHI: Target = { level: 'hihi', severity: 'CRITICAL' }

/** Feeds (seconds, target) pairs with the given delays; lists the changes as `type level @s`. */
function feed(steps: Array<[number, Target | undefined]>, onS: number, offS: number): string[] {
  let c: Condition = NORMAL
  const out: string[] = []
  for (const [s, t] of steps) {
    const r = step(c, s * 1000, t, onS * 1000, offS * 1000)
    c = r.condition
    if (r.change) out.push(`${r.change.type} ${r.change.level} @${s}`)
  }
  return out
}

describe('on/off delays', () => {
  it.each<{ name: string; steps: Array<[number, Target | undefined]>; on: number; off: number; expected: string[] }>([
    { name: 'no delays: immediate', steps: [[0, HI], [1, HIHI], [2, HI], [3, undefined]], on: 0, off: 0, expected: ['raise hi @0', 'update hihi @1', 'update hi @2', 'clear hi @3'] },
    { name: 'on-delay counts from the first abnormal sample, across a level change', steps: [[0, HI], [5, HIHI], [10, HIHI]], on: 10, off: 0, expected: ['raise hihi @10'] },
    { name: 'on-delay restarts after a return to normal', steps: [[0, HI], [5, undefined], [6, HI], [15, HI], [16, HI]], on: 10, off: 0, expected: ['raise hi @16'] },
    { name: 'off-delay: a short dip does not clear', steps: [[0, HI], [1, undefined], [3, HI], [4, undefined], [9, undefined]], on: 0, off: 5, expected: ['raise hi @0', 'clear hi @9'] },
    { name: 'escalation waits on-delay, de-escalation off-delay', steps: [[0, HI], [2, HI], [3, HIHI], [4, HIHI], [5, HIHI], [6, HI], [9, HI], [11, HI]], on: 2, off: 5, expected: ['raise hi @2', 'update hihi @5', 'update hi @11'] },
  ])('$name', ({ steps, on, off, expected }) => {
    expect(feed(steps, on, off)).toEqual(expected)
  })
})
