import { describe, expect, it } from 'vitest'
import { backoffDelay, BACKOFF_DEFAULTS } from './backoff.ts'

describe('backoffDelay', () => {
  it.each([
    { attempt: 0, random: 0, ms: 500 },
    { attempt: 0, random: 0.999999, ms: 1_000 },
    { attempt: 1, random: 0, ms: 1_000 },
    { attempt: 3, random: 0.5, ms: 6_000 },
    { attempt: 6, random: 0, ms: 30_000 },
    { attempt: 7, random: 0, ms: 30_000 },
    { attempt: 7, random: 0.999999, ms: 60_000 },
    { attempt: 1_000, random: 0.999999, ms: 60_000 },
  ])('attempt $attempt, random $random → $ms ms', ({ attempt, random, ms }) => {
    expect(backoffDelay(attempt, BACKOFF_DEFAULTS, () => random)).toBe(ms)
  })
})
