import { describe, expect, it } from 'vitest'
import { flushDecision, learnBytesPerReading, type FlushDecision, type FlushInput } from './batching.ts'

const batch = { maxReadings: 100, maxBytes: 10_000, maxDelayMs: 2_000 }
const input = (over: Partial<FlushInput>): FlushInput => ({ pending: 0, redeliveries: 0, pendingSince: undefined, now: 10_000, bytesPerReading: 50, ...over })

describe('flushDecision', () => {
  it.each<{ name: string; input: FlushInput; decision: FlushDecision }>([
    { name: 'nothing pending', input: input({}), decision: { kind: 'idle' } },
    { name: 'nothing pending forgets when readings were first seen', input: input({ pendingSince: 1 }), decision: { kind: 'idle' } },
    { name: 'a redelivery goes at once', input: input({ redeliveries: 1 }), decision: { kind: 'send', pendingSince: undefined, reason: 'redelivery' } },
    { name: 'a redelivery goes before a partial batch', input: input({ redeliveries: 2, pending: 3, pendingSince: 9_999 }), decision: { kind: 'send', pendingSince: 9_999, reason: 'redelivery' } },
    { name: 'first readings seen: wait the whole delay', input: input({ pending: 3 }), decision: { kind: 'wait', pendingSince: 10_000, waitMs: 2_000 } },
    { name: 'still collecting: wait the rest', input: input({ pending: 3, pendingSince: 9_500 }), decision: { kind: 'wait', pendingSince: 9_500, waitMs: 1_500 } },
    { name: 'waited long enough: a partial batch goes', input: input({ pending: 3, pendingSince: 8_000 }), decision: { kind: 'send', pendingSince: 8_000, reason: 'delay' } },
    { name: 'a full batch by count goes at once', input: input({ pending: 100 }), decision: { kind: 'send', pendingSince: 10_000, reason: 'readings' } },
    { name: 'a backlog goes at once', input: input({ pending: 50_000, pendingSince: 9_999 }), decision: { kind: 'send', pendingSince: 9_999, reason: 'readings' } },
    { name: 'a full batch by estimated bytes goes at once', input: input({ pending: 20, bytesPerReading: 500 }), decision: { kind: 'send', pendingSince: 10_000, reason: 'bytes' } },
    { name: 'just under the byte budget waits', input: input({ pending: 19, bytesPerReading: 500 }), decision: { kind: 'wait', pendingSince: 10_000, waitMs: 2_000 } },
  ])('$name', ({ input, decision }) => {
    expect(flushDecision(input, batch)).toEqual(decision)
  })

  it('maxDelayMs 0 sends whatever is pending at once', () => {
    expect(flushDecision(input({ pending: 1 }), { ...batch, maxDelayMs: 0 })).toMatchObject({ kind: 'send', reason: 'delay' })
  })
})

describe('learnBytesPerReading', () => {
  it('moves a fifth of the way towards the measured size', () => {
    expect(learnBytesPerReading(200, 3_000, 10)).toBeCloseTo(220)
  })
  it('ignores an empty batch', () => {
    expect(learnBytesPerReading(200, 100, 0)).toBe(200)
  })
})
