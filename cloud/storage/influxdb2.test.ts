import { describe, expect, it } from 'vitest'
import { SENSOR_KINDS } from '../../shared/profile/schema.ts'
import { BINARIES, requireBinary } from '../../shared/test-support/binaries.ts'
import type { TelemetryRow } from '../model.ts'
import { forceFlush, startVictoria } from '../test-support/victoria.ts'
import { describeTelemetryStore, reading, type Verifier } from './contract.ts'
import { openInfluxDb2Store } from './influxdb2.ts'

const TOKEN = 'test-token-do-not-log'

/**
 * Reads what VictoriaMetrics stored through its export API. VictoriaMetrics maps a line's
 * measurement + field to the metric `<measurement>_<field>` and its tags to labels; it keeps
 * numbers, turns booleans into 1/0 and strings into 0 (so strings cannot be checked here).
 */
function victoriaVerifier(url: string): Verifier {
  const kinds = SENSOR_KINDS.join('|')
  async function exportSeries(selector: string, from?: number, to?: number) {
    await forceFlush(url)
    const params = new URLSearchParams({ 'match[]': selector })
    if (from !== undefined) params.set('start', String(from / 1000))
    if (to !== undefined) params.set('end', String((to - 1) / 1000))
    const res = await fetch(`${url}/api/v1/export?${params}`, { signal: AbortSignal.timeout(10_000) })
    const text = await res.text()
    if (!res.ok) throw new Error(`victoria-metrics export ${selector} failed: ${res.status} ${text}`)
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { metric: Record<string, string>; values: number[]; timestamps: number[] })
  }
  return {
    async readAll(gateway, device, from, to) {
      const rows = new Map<number, TelemetryRow>()
      for (const s of await exportSeries(`{__name__=~"(${kinds})_.+",gateway=${JSON.stringify(gateway)},device=${JSON.stringify(device)}}`, from, to)) {
        const kind = s.metric.kind ?? ''
        const field = (s.metric.__name__ ?? '').slice(kind.length + 1)
        if (field === 'seq' || field === 'historical' || field.endsWith('__error')) continue
        s.timestamps.forEach((ts, i) => {
          if (ts < from || ts >= to) return
          const row = rows.get(ts) ?? { ts, values: {} }
          row.values[field] = s.values[i] ?? null
          rows.set(ts, row)
        })
      }
      return [...rows.values()].sort((a, b) => a.ts - b.ts)
    },
    async countByDevice() {
      const out = new Map<string, number>()
      for (const s of await exportSeries(`{__name__=~"(${kinds})_seq"}`)) {
        const key = `${s.metric.gateway}/${s.metric.device}`
        out.set(key, (out.get(key) ?? 0) + s.timestamps.length)
      }
      return out
    },
    expected: (v) => (typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'string' ? undefined : v),
    lastWriteWins: false,
  }
}

describeTelemetryStore('influxdb2', async (ctx) => {
  requireBinary(ctx, BINARIES.victoriaMetrics)
  const server = await startVictoria()
  const store = openInfluxDb2Store({ url: server.url, org: 'muni', bucket: 'telemetry', token: TOKEN })
  return {
    store,
    verifier: victoriaVerifier(server.url),
    queryUntestable: 'query uses Flux, which VictoriaMetrics (the only /api/v2/write server here) does not speak',
    dispose: async () => (await store.close(), await server.stop()),
  }
})

describe('influxdb2 store', () => {
  it('rejects with an error naming the server when the write is refused, without the token', { timeout: 30_000 }, async (ctx) => {
    requireBinary(ctx, BINARIES.victoriaMetrics)
    const server = await startVictoria()
    ctx.onTestFinished(() => server.stop())
    // VictoriaMetrics answers 400 unsupported path here.
    const store = openInfluxDb2Store({ url: `${server.url}/nowhere`, org: 'muni', bucket: 'telemetry', token: TOKEN })
    const err = await store.write([reading(0, { level_m: 1 })]).then(
      () => expect.unreachable('it should have failed'),
      (e: unknown) => e as Error,
    )
    expect(err.message).toMatch(new RegExp(`^influxdb2 write to ${server.url}/nowhere \\(org muni, bucket telemetry\\) failed \\(batch 1 of 1, 1 lines\\): 400`))
    expect(err.message).not.toContain(TOKEN)
  })

  it('rejects when nothing listens, naming the server', { timeout: 30_000 }, async () => {
    const store = openInfluxDb2Store({ url: 'http://127.0.0.1:1', org: 'muni', bucket: 'telemetry', token: TOKEN })
    const err = await store.write([reading(0, { level_m: 1 })]).then(
      () => expect.unreachable('it should have failed'),
      (e: unknown) => e as Error,
    )
    expect(err.message).toMatch(/^influxdb2 write to http:\/\/127\.0\.0\.1:1 \(org muni, bucket telemetry\) failed/)
    expect(err.message).not.toContain(TOKEN)
  })
})
