import { describe, expect, it } from 'vitest'
import { BINARIES, requireBinary } from '../../shared/test-support/binaries.ts'
import { startInfluxd } from '../test-support/influxd.ts'
import { describeTelemetryStore, reading } from './contract.ts'
import { InfluxWriteError, openInfluxDb1Store, parseWriteRefusal, RAW_RP, ROLLUP_CQ, ROLLUP_RP, rollupSelect, toLineProtocol } from './influxdb1.ts'

let n = 0
describeTelemetryStore('influxdb1', async (ctx) => {
  requireBinary(ctx, BINARIES.influxd)
  const server = await startInfluxd()
  try {
    const store = await openInfluxDb1Store({ url: server.url, database: `muni_${++n}` })
    return { store, dispose: async () => (await store.close(), await server.stop()) }
  } catch (err) {
    await server.stop()
    throw err
  }
})

describe('influxdb1 store', () => {
  async function setup(ctx: Parameters<typeof requireBinary>[0] & { onTestFinished(fn: () => Promise<void>): void }) {
    requireBinary(ctx, BINARIES.influxd)
    const server = await startInfluxd()
    ctx.onTestFinished(() => server.stop())
    const raw = async (q: string) => {
      const res = await fetch(`${server.url}/query?${new URLSearchParams({ q, db: 'muni', epoch: 'ms' })}`, { method: 'POST' })
      return (await res.json()) as { results: { series?: { columns: string[]; values: unknown[][] }[]; error?: string }[] }
    }
    return { server, raw }
  }

  it('creates the database, the raw and 1m retention policies and the rollup continuous query, idempotently', { timeout: 30_000 }, async (ctx) => {
    const { server, raw } = await setup(ctx)
    const first = await openInfluxDb1Store({ url: server.url, database: 'muni', retention: '7d' })
    await first.close()
    // Opening again with other retentions updates them instead of failing.
    const store = await openInfluxDb1Store({ url: server.url, database: 'muni', retention: '14d', rollupRetention: '104w' })
    await store.close()
    const rps = (await raw('SHOW RETENTION POLICIES ON "muni"')).results[0]?.series?.[0]
    const byName = new Map(rps?.values.map((v) => [v[0], v]))
    expect(byName.get(RAW_RP)).toEqual([RAW_RP, '336h0m0s', expect.any(String), 1, true])
    expect(byName.get(ROLLUP_RP)).toEqual([ROLLUP_RP, '17472h0m0s', expect.any(String), 1, false])
    const cqs = (await raw('SHOW CONTINUOUS QUERIES')).results[0]?.series?.find((s) => s.values.some((v) => v[0] === ROLLUP_CQ))
    expect(cqs?.values.filter((v) => v[0] === ROLLUP_CQ)).toHaveLength(1)
    expect(String(cqs?.values[0]?.[1])).toMatch(/SELECT mean\(\*\), min\(\*\), max\(\*\) INTO muni\."1m"\.:MEASUREMENT FROM muni\.raw\.\/\.\*\/ GROUP BY time\(1m\), \*/)
  })

  it('rolls raw readings up into 1-minute mean/min/max with the continuous query statement', { timeout: 30_000 }, async (ctx) => {
    const { server, raw } = await setup(ctx)
    const store = await openInfluxDb1Store({ url: server.url, database: 'muni' })
    // The contract's T0 is a day boundary two days back: minute-aligned.
    await store.write([reading(0, { level_m: 1, pump_on: true, mode: 'auto' }), reading(30_000, { level_m: 3 }), reading(60_000, { level_m: 10 })])
    const t0 = reading(0, {}).ts
    const ran = await raw(rollupSelect('muni', { from: t0, to: t0 + 120_000 }))
    expect(ran.results[0]?.error).toBeUndefined()
    const got = (await raw(`SELECT "mean_level_m", "min_level_m", "max_level_m" FROM "muni"."1m"."water-level" WHERE "device" = 'wl-1'`)).results[0]?.series?.[0]
    expect(got?.values).toEqual([
      [t0, 2, 1, 3],
      [t0 + 60_000, 10, 10, 10],
    ])
    await store.close()
  })

  it('refuses a type-conflicting write with a final error naming the field, without retrying', { timeout: 30_000 }, async (ctx) => {
    const { server } = await setup(ctx)
    const store = await openInfluxDb1Store({ url: server.url, database: 'muni', username: 'admin', password: 's3cret-pw' })
    await store.write([reading(0, { level_m: 1 })])
    // level_m was a float: a boolean now conflicts, and InfluxDB answers 400 partial write.
    const err = await store.write([reading(1000, { level_m: 2 }), reading(2000, { level_m: true })]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InfluxWriteError)
    const e = err as InfluxWriteError
    expect(e.message).toMatch(new RegExp(`^influxdb1 write to ${server.url} failed \\(batch 1 of 1, 2 lines\\): 400 partial write: field type conflict: input field "level_m" on measurement "water-level" is type boolean, already exists as type float dropped=1`))
    expect(e.status).toBe(400)
    expect(e.retryable).toBe(false)
    expect(e.message).not.toContain('s3cret-pw')
    await store.close()
  })

  it('writes what it can of a batch holding readings older than the raw retention, and says how many were dropped', { timeout: 30_000 }, async (ctx) => {
    const { server, raw } = await setup(ctx)
    const store = await openInfluxDb1Store({ url: server.url, database: 'muni', retention: '1d' })
    const old = reading(0, { level_m: 9 }, { ts: Date.now() - 3 * 86_400_000, historical: true })
    const fresh = reading(0, { level_m: 1 }, { ts: Date.now() - 60_000 })
    const err = (await store.write([old, fresh]).catch((e: unknown) => e)) as InfluxWriteError
    expect(err.message).toMatch(/400 partial write: points beyond retention policy dropped=1/)
    expect({ status: err.status, retryable: err.retryable, dropped: err.dropped }).toEqual({ status: 400, retryable: false, dropped: 1 })
    const got = (await raw(`SELECT "level_m" FROM "raw"."water-level"`)).results[0]?.series?.[0]?.values
    expect(got).toEqual([[fresh.ts, 1]])
    await store.close()
  })

  it('reads the refused lines out of a real unable-to-parse answer', { timeout: 30_000 }, async (ctx) => {
    const { server } = await setup(ctx)
    await openInfluxDb1Store({ url: server.url, database: 'muni' })
    const [good] = toLineProtocol([reading(0, { level_m: 1 })])
    const bad = `water-level,device=wl-1 level_m=it's-bad 1000`
    const res = await fetch(`${server.url}/write?db=muni&precision=ms`, { method: 'POST', body: `${good}\n${bad}` })
    const { error } = (await res.json()) as { error: string }
    expect(res.status).toBe(400)
    expect(parseWriteRefusal(error)).toEqual({ refused: [bad], dropped: 0 })
  })

  it('a write influxd does not answer fails after timeoutMs with a retryable error, and the next write goes through', { timeout: 30_000 }, async (ctx) => {
    const { server } = await setup(ctx)
    const store = await openInfluxDb1Store({ url: server.url, database: 'muni', timeoutMs: 300 })
    ctx.onTestFinished(() => store.close())
    await store.write([reading(0, { level_m: 1 })])
    // A stopped process keeps its socket open and never answers: the fault a hung server makes.
    process.kill(server.pid as number, 'SIGSTOP')
    let resumed = false
    ctx.onTestFinished(() => {
      if (!resumed) process.kill(server.pid as number, 'SIGCONT')
    })
    const t0 = performance.now()
    const err = await store.write([reading(1000, { level_m: 1.1 })]).then(
      () => expect.unreachable('a write to a stopped server should fail'),
      (e: unknown) => e as Error,
    )
    expect(err.message).toMatch(/no answer from http:\/\/127\.0\.0\.1:\d+ within 300 ms/)
    expect(err).toBeInstanceOf(InfluxWriteError)
    expect(err).toMatchObject({ status: undefined, retryable: true })
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290)
    process.kill(server.pid as number, 'SIGCONT')
    resumed = true
    await store.write([reading(2000, { level_m: 1.2 })])
  })

  it('never puts credentials in errors, even when they are in the URL', { timeout: 30_000 }, async () => {
    const err = await openInfluxDb1Store({ url: 'http://admin:s3cret-pw@127.0.0.1:1', database: 'muni', password: 'other-secret' }).then(
      () => expect.unreachable('it should have failed'),
      (e: unknown) => e as Error,
    )
    expect(err.message).toMatch(/^influxdb1 query at http:\/\/127\.0\.0\.1:1 failed/)
    expect(err.message).not.toMatch(/s3cret|other-secret|admin/)
  })
})
