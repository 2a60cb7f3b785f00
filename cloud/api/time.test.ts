import { describe, expect, it } from 'vitest'
import { MAX_QUERY_POINTS } from '../model.ts'
import { bucketCount, formatDuration, minEvery, parseDuration, parseTime, suggestEvery } from './time.ts'

describe('parseTime', () => {
  it.each([
    ['0', 0],
    ['1714564800000', Date.UTC(2024, 4, 1, 12)],
    ['2024-05-01', Date.UTC(2024, 4, 1)],
    ['2024-05-01T12:00Z', Date.UTC(2024, 4, 1, 12)],
    ['2024-05-01T12:00:00Z', Date.UTC(2024, 4, 1, 12)],
    ['2024-05-01T12:00:00.250Z', Date.UTC(2024, 4, 1, 12, 0, 0, 250)],
    ['2024-05-01T14:00:00+02:00', Date.UTC(2024, 4, 1, 12)],
    ['2024-05-01T07:00:00-05:00', Date.UTC(2024, 4, 1, 12)],
  ])('%s → %d', (text, ms) => {
    expect(parseTime(text)).toEqual({ ok: true, value: ms })
  })

  it.each([
    ['2024-05-01T12:00:00', 'ISO 8601 with an offset'], // no offset: whose local time?
    ['yesterday', 'ISO 8601 with an offset'],
    ['-5', 'ISO 8601 with an offset'],
    ['1.5', 'ISO 8601 with an offset'],
    ['2024-13-45T00:00:00Z', 'not a valid date'],
    ['99999999999999999', 'ISO 8601'], // too many digits for ms
    ['9000000000000000', 'at most 8640000000000000 ms'],
  ])('rejects %j', (text, reason) => {
    const r = parseTime(text)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error).toContain(reason)
  })
})

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['250ms', 250],
    ['60000', 60_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: ms })
  })

  it.each(['0', '0s', '5 m', '1w', 'm', '-1s', '1.5h', '400d'])('rejects %j', (text) => {
    expect(parseDuration(text).ok).toBe(false)
  })
})

describe('formatDuration', () => {
  it.each([
    [250, '250ms'],
    [1000, '1s'],
    [90_000, '90s'],
    [300_000, '5m'],
    [3_600_000, '1h'],
    [172_800_000, '2d'],
  ])('%d → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
    expect(parseDuration(text)).toEqual({ ok: true, value: ms })
  })
})

describe('the row bound', () => {
  const day = 86_400_000
  it.each([
    [0, 3_600_000, 360],
    [0, day, 8640],
    [0, 7 * day, 60_480],
    [0, 1, 1],
  ])('minEvery(%d, %d) = %d and keeps the buckets within MAX_QUERY_POINTS', (from, to, expected) => {
    const e = minEvery(from, to)
    expect(e).toBe(expected)
    expect(bucketCount(from, to, e)).toBeLessThanOrEqual(MAX_QUERY_POINTS)
    if (e > 1) expect(bucketCount(from, to, e - 1)).toBeGreaterThan(MAX_QUERY_POINTS)
  })

  it.each([
    [3_600_000, MAX_QUERY_POINTS, '1s'],
    [day, MAX_QUERY_POINTS, '10s'],
    [7 * day, MAX_QUERY_POINTS, '2m'],
    [365 * day, MAX_QUERY_POINTS, '1h'],
    [3_600_000, 10, '10m'],
    [3_600_000, 1, '1h'],
    [3000 * day, 1, '3000d'],
  ])('suggestEvery over %d ms within %d rows is %s', (range, rows, text) => {
    const e = suggestEvery(0, range, rows)
    expect(formatDuration(e)).toBe(text)
    expect(bucketCount(0, range, e)).toBeLessThanOrEqual(rows)
  })
})
