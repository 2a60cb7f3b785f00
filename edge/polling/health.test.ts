import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { PointError } from '../../shared/quality.ts'
import { backoffDelay, backoffPeriod, checkHealthConfig, INITIAL_HEALTH, isBackingOff, observe, type Health, type HealthConfig, type SweepOutcome } from './health.ts'

const cfg: HealthConfig = { failuresToUnavailable: 3, backoff: { initialMs: 1000, maxMs: 8000, jitter: 0 }, seed: 'dev-1' }
const TIMEOUT: PointError = { code: 'timeout' }
const E02: PointError = { code: 'exception', exception: 2 }
const ok: SweepOutcome = { kind: 'ok' }
const fail: SweepOutcome = { kind: 'failed', error: TIMEOUT }
const refuse: SweepOutcome = { kind: 'mismatch', error: E02 }

/** Feeds outcomes one per second from t=0; returns every step's state and events. */
function run(outcomes: readonly SweepOutcome[], c: HealthConfig = cfg, from: Health = INITIAL_HEALTH) {
  let h = from
  return outcomes.map((o, i) => {
    const r = observe(c, h, o, i * 1000)
    h = r.health
    return { h, events: r.events.map((e) => e.event) }
  })
}

describe('availability (table)', () => {
  const cases: { name: string; outcomes: SweepOutcome[]; events: string[][]; last: Partial<Health> }[] = [
    { name: 'first answer → available', outcomes: [ok], events: [['available']], last: { availability: 'available', failures: 0 } },
    { name: 'answers keep it available, silently', outcomes: [ok, ok, ok], events: [['available'], [], []], last: { availability: 'available' } },
    { name: 'K−1 failures: still available', outcomes: [ok, fail, fail], events: [['available'], [], []], last: { availability: 'available', failures: 2 } },
    { name: 'K failures → unavailable with the error', outcomes: [ok, fail, fail, fail], events: [['available'], [], [], ['unavailable']], last: { availability: 'unavailable', failures: 3 } },
    { name: 'never answered, K failures → unavailable', outcomes: [fail, fail, fail], events: [[], [], ['unavailable']], last: { availability: 'unavailable' } },
    { name: 'a success resets the count', outcomes: [ok, fail, fail, ok, fail, fail], events: [['available'], [], [], [], [], []], last: { availability: 'available', failures: 2 } },
    { name: 'more failures while unavailable: no repeat', outcomes: [fail, fail, fail, fail, fail], events: [[], [], ['unavailable'], [], []], last: { availability: 'unavailable', failures: 5 } },
    { name: 'first success after unavailable → available', outcomes: [fail, fail, fail, fail, ok], events: [[], [], ['unavailable'], [], ['available']], last: { availability: 'available', failures: 0 } },
    { name: 'K refusals → profile_mismatch once', outcomes: [ok, refuse, refuse, refuse, refuse], events: [['available'], [], [], ['profile_mismatch'], []], last: { availability: 'available', mismatch: true, mismatches: 4 } },
    { name: 'refusals from the start: available (it answers), then mismatch', outcomes: [refuse, refuse, refuse], events: [['available'], [], ['profile_mismatch']], last: { mismatch: true } },
    { name: 'mismatch cleared by a data answer', outcomes: [refuse, refuse, refuse, ok], events: [['available'], [], ['profile_mismatch'], ['available']], last: { mismatch: false, mismatches: 0 } },
    { name: 'a timeout breaks a run of refusals', outcomes: [refuse, refuse, fail, refuse, refuse], events: [['available'], [], [], [], []], last: { mismatch: false, mismatches: 2 } },
    { name: 'refusals are answers: they revive an unavailable device', outcomes: [fail, fail, fail, refuse], events: [[], [], ['unavailable'], ['available']], last: { availability: 'available', failures: 0 } },
  ]
  for (const c of cases) {
    it(c.name, () => {
      const steps = run(c.outcomes)
      expect(steps.map((s) => s.events)).toEqual(c.events)
      expect(steps.at(-1)?.h).toMatchObject(c.last)
    })
  }

  it('the unavailable event carries the last error and a reason', () => {
    let h = INITIAL_HEALTH
    h = observe(cfg, h, fail, 0).health
    h = observe(cfg, h, fail, 1).health
    const third = observe(cfg, h, { kind: 'failed', error: { code: 'crc' } }, 2)
    expect(third.events).toEqual([{ event: 'unavailable', reason: '3 sweeps in a row without an answer', error: { code: 'crc' } }])
    expect(third.health.lastError).toEqual({ code: 'crc' })
  })

  it('profile_mismatch names the exception and says why', () => {
    let h = INITIAL_HEALTH
    const first = observe(cfg, h, refuse, 0)
    expect(first.events).toEqual([{ event: 'available', reason: 'answers, with exceptions only' }])
    h = observe(cfg, first.health, refuse, 1).health
    const third = observe(cfg, h, refuse, 2)
    expect(third.events).toHaveLength(1)
    expect(third.events[0]?.reason).toMatch(/exception 0x02 3 sweeps in a row: the device likely runs other firmware/)
    expect(third.health.mismatch).toBe(true)
  })

  it('K = 1: the first failed sweep makes it unavailable', () => {
    expect(run([fail], { ...cfg, failuresToUnavailable: 1 }).map((s) => s.events)).toEqual([['unavailable']])
  })
})

describe('backoff (table)', () => {
  it('initial, ×2, capped at max; probe times follow from the failure time', () => {
    // Failures at t = 0,1,2 s (unavailable at 2 s), then failed probes at 3..7 s.
    const steps = run([fail, fail, fail, fail, fail, fail, fail, fail])
    const b = steps.map((s) => s.h.backoff)
    expect(b.slice(0, 2)).toEqual([undefined, undefined])
    expect(b.slice(2).map((x) => x && [x.attempt, x.periodMs, x.until])).toEqual([
      [0, 1000, 3000],
      [1, 2000, 5000],
      [2, 4000, 8000],
      [3, 8000, 13000],
      [4, 8000, 14000],
      [5, 8000, 15000],
    ])
  })

  it('a success ends the backoff; the next outage starts again at initial', () => {
    const steps = run([fail, fail, fail, fail, ok, fail, fail, fail])
    expect(isBackingOff(steps[3]?.h ?? INITIAL_HEALTH)).toBe(true)
    expect(steps[4]?.h.backoff).toBeUndefined()
    expect(steps[7]?.h.backoff).toMatchObject({ attempt: 0, periodMs: 1000 })
  })

  it('periods', () => {
    const b = { initialMs: 500, maxMs: 60_000 }
    expect([0, 1, 2, 3, 6, 7, 8, 1000].map((a) => backoffPeriod(b, a))).toEqual([500, 1000, 2000, 4000, 32000, 60000, 60000, 60000])
  })

  it('jitter: deterministic, never shortens a period, at most jitter × period longer, differs between devices', () => {
    const b = { initialMs: 1000, maxMs: 60_000, jitter: 0.2 }
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 0, max: 40 }), (seed, attempt) => {
        const d = backoffDelay(b, seed, attempt)
        const p = backoffPeriod(b, attempt)
        expect(d).toBe(backoffDelay(b, seed, attempt))
        expect(d).toBeGreaterThanOrEqual(p)
        expect(d).toBeLessThanOrEqual(Math.round(p * 1.2))
      }),
    )
    const delays = new Set(['rtu-1', 'rtu-2', 'rtu-3', 'rtu-4', 'rtu-5'].map((s) => backoffDelay(b, s, 0)))
    expect(delays.size).toBeGreaterThan(3)
  })

  it('property: within any run of failed probes, probes are at least one period apart', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 30 }), (k, n) => {
        const c: HealthConfig = { failuresToUnavailable: k, backoff: { initialMs: 100, maxMs: 3200, jitter: 0.5 }, seed: 'p' }
        let h = INITIAL_HEALTH
        let t = 0
        for (let i = 0; i < k; i++) h = observe(c, h, fail, t).health
        for (let i = 0; i < n; i++) {
          const before = h.backoff
          if (!before) throw new Error('not backing off')
          t = before.until // the probe goes out when the backoff expires, and fails
          h = observe(c, h, fail, t).health
          const after = h.backoff
          expect(after && after.until - t).toBeGreaterThanOrEqual(after?.periodMs ?? Infinity)
          expect(after?.periodMs).toBeGreaterThanOrEqual(before.periodMs)
        }
      }),
    )
  })
})

describe('config', () => {
  it.each([
    [{ ...cfg, failuresToUnavailable: 0 }, /failuresToUnavailable/],
    [{ ...cfg, failuresToUnavailable: 1.5 }, /failuresToUnavailable/],
    [{ ...cfg, backoff: { initialMs: 0, maxMs: 10 } }, /initialMs/],
    [{ ...cfg, backoff: { initialMs: 100, maxMs: 10 } }, /maxMs/],
    [{ ...cfg, backoff: { initialMs: 100, maxMs: 1000, jitter: 2 } }, /jitter/],
  ])('refuses %o', (c, msg) => {
    expect(() => checkHealthConfig(c)).toThrow(msg)
  })
  it('accepts the defaults of the gateway config', () => {
    expect(() => checkHealthConfig({ failuresToUnavailable: 3, backoff: { initialMs: 1000, maxMs: 60_000 }, seed: 'x' })).not.toThrow()
  })
})
