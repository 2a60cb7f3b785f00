/**
 * `npm start` end to end, with real processes: `muni demo` starts the sample district's
 * simulators (the storm at 60× on the devices it plays on, from 0:42:00 of its simulated
 * time, 18 minutes before its rain; the rest live), one edge agent
 * per gateway and the cloud; readings go simulator → edge → broker → cloud → storage → API,
 * and the storm's alarms reach the API and its SSE stream (issue #6 point 8). Once with the
 * embedded SQLite storage (what a fresh machine gets), once with MUNI_INFLUX_URL pointing
 * at a real influxd.
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { createConnection } from 'node:net'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { SseClient } from '../../cloud/api/test-support/sse-client.ts'
import { startInfluxd, type TestServer } from '../../cloud/test-support/influxd.ts'
import { BINARIES, requireBinary } from '../../shared/test-support/binaries.ts'
import { PACKAGE_ROOT } from './main.ts'

interface Ready {
  event: 'ready'
  api: string
  mqtt: string
  token: string
  dir: string
  seconds: number
  devicesWithReadings: number
  alarms: string
  stream: string
  scenario?: { name: string; speed: number; from: string; devices: string[]; rules?: string }
}

interface AlarmView {
  id: string
  device: string
  rule: string
  kind?: string
  status: string
  severity: string
  message: string
  eta?: { at: number; inS: number; confidence: number }
}

/** One `event: alarm` of the SSE stream, with when it arrived here. */
interface AlarmEvent {
  receivedAt: number
  transition: { id: number; action: { type: string } }
  alarm: AlarmView
}

/**
 * A client of `GET /api/v1/stream` (Server-Sent Events, `SseClient`): its alarm events, parsed;
 * `until` resolves once the events so far satisfy `done`, or rejects at `deadline`.
 */
function alarmStream(r: Ready): { readonly events: AlarmEvent[]; until: (done: (e: AlarmEvent[]) => boolean, deadline: number) => Promise<void>; close: () => void } {
  const client = new SseClient()
  const opened = client.open(r.stream, { authorization: `Bearer ${r.token}` })
  const events = (): AlarmEvent[] => client.events.filter((e) => e.event === 'alarm').map((e) => ({ receivedAt: e.receivedAt, ...(JSON.parse(e.data) as Omit<AlarmEvent, 'receivedAt'>) }))
  const until = async (done: (e: AlarmEvent[]) => boolean, deadline: number): Promise<void> => {
    await opened
    if (client.status !== 200) throw new Error(`GET /api/v1/stream: ${client.status} ${client.events[0]?.data ?? ''}`)
    try {
      await client.until(() => done(events()), Math.max(0, deadline - Date.now()), 'the alarms')
    } catch (e) {
      throw new Error(`not seen over SSE by the deadline; alarm events so far: ${JSON.stringify(events().map((x) => [x.transition.action.type, x.alarm.id, x.alarm.message]))} (${(e as Error).message.split(';')[0]})`)
    }
  }
  return {
    get events() {
      return events()
    },
    until,
    close: () => client.close(),
  }
}

/** The first raise over SSE of a trend alarm with a forecast still ahead (predictive), and of a threshold alarm. */
const firstPredictive = (es: AlarmEvent[]): AlarmEvent | undefined =>
  es.find((e) => e.transition.action.type === 'raise' && e.alarm.rule.endsWith('.trend') && (e.alarm.eta?.inS ?? 0) > 0)
const firstThreshold = (es: AlarmEvent[]): AlarmEvent | undefined => es.find((e) => e.transition.action.type === 'raise' && e.alarm.rule.endsWith('.threshold'))

/** Whether a TCP connection to the URL's host and port is accepted. */
function connects(url: string): Promise<boolean> {
  const u = new URL(url)
  return new Promise((resolve) => {
    const s = createConnection({ host: u.hostname, port: Number(u.port) })
    s.once('connect', () => (s.destroy(), resolve(true)))
    s.once('error', () => resolve(false))
  })
}

/** Pids of the demo's parts: processes whose command line names its folder or that run in it (the sim), from /proc. */
function partsOf(dir: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir) || readlinkSync(`/proc/${entry}/cwd`) === dir) pids.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

const servers: TestServer[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop()
})

/**
 * Runs `muni demo --json` (with `--duration S`, or until SIGINT when S is `'ctrl-c'`);
 * resolves with its ready line, what `during` returned, and its exit.
 */
async function demo<T>(env: Record<string, string>, durationS: number | 'ctrl-c', during: (r: Ready, startedAt: number) => Promise<T>): Promise<{ ready: Ready; result: T; code: number | null; stderr: string }> {
  const args = ['edge/cli/muni.mjs', 'demo', '--json', ...(durationS === 'ctrl-c' ? [] : ['--duration', String(durationS)])]
  const startedAt = Date.now()
  const child = spawn(process.execPath, args, { cwd: PACKAGE_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  try {
    const ready = await new Promise<Ready>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (l) => {
        if (l.startsWith('{"event":"ready"')) resolve(JSON.parse(l) as Ready)
      })
      void exited.then((code) => reject(new Error(`demo exited (${code}) before readings flowed: ${stderr}`)))
    })
    const result = await during(ready, startedAt)
    if (durationS === 'ctrl-c') child.kill('SIGINT')
    return { ready, result, code: await exited, stderr }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
  }
}

async function api<T>(r: Ready, path: string): Promise<T> {
  const res = await fetch(`${r.api}${path}`, { headers: { authorization: `Bearer ${r.token}` } })
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200)
  return (await res.json()) as T
}

interface DeviceView {
  gateway: string
  device: string
  kind: string
  lastSeen?: number
}

/** Waits until at least `n` devices have a last reading; returns them. */
async function devicesWithReadings(r: Ready, n: number, ms: number): Promise<DeviceView[]> {
  const deadline = Date.now() + ms
  for (;;) {
    const body = await api<{ devices: DeviceView[] }>(r, '/api/v1/devices')
    const seen = body.devices.filter((d) => d.lastSeen !== undefined)
    if (seen.length >= n || Date.now() > deadline) return seen
    await new Promise((res) => setTimeout(res, 250))
  }
}

describe('npm start (muni demo)', () => {
  it('runs the sample district end to end on embedded defaults: readings queryable; the storm raises a predictive and a threshold alarm within 120 s, seen over SSE and listed; Ctrl-C stops everything', async (ctx) => {
    requireBinary(ctx, BINARIES.socat) // the district's RS-485 line is a socat pty pair
    const { ready, result, code, stderr } = await demo({}, 'ctrl-c', async (r, startedAt) => {
      // Connected before the storm's rain reaches the underpass (18 s of wall time after the sim
      // starts: --scenario-from 0:42:00 at 60×, ~12 s after ready), so every alarm arrives live;
      // the gauge then needs ~20 s to reach its HI level, the trend rule six rising readings before that.
      const stream = alarmStream(r)
      try {
        const devices = await devicesWithReadings(r, 30, 20_000)
        // Issue #6 point 8: within two minutes of start, a predictive (trend) and a threshold alarm.
        await stream.until((es) => firstPredictive(es) !== undefined && firstThreshold(es) !== undefined, startedAt + 120_000)
        const predictive = firstPredictive(stream.events) as AlarmEvent
        const threshold = firstThreshold(stream.events) as AlarmEvent
        const listed = await api<{ alarms: AlarmView[] }>(r, '/api/v1/alarms')
        const level = await api<{ rows: Array<{ ts: number; values: Record<string, unknown> }> }>(r, `/api/v1/devices/gw-guangqumen/wl-gqm-01/telemetry?points=level_m&from=${startedAt - 60_000}`)
        return { devices: devices.length, predictive, threshold, startedAt, listed: listed.alarms, levels: level.rows.map((x) => x.values.level_m) }
      } finally {
        stream.close()
      }
    })
    expect(ready.devicesWithReadings).toBeGreaterThan(0)
    // "Readings are queryable within 10 s of start" and the alarm times are measured by
    // `npm run bench -- demo` on a quiet machine; here (tests in parallel on 2 cores) only printed.
    const after = (e: AlarmEvent): string => `${((e.receivedAt - result.startedAt) / 1000).toFixed(1)} s`
    console.log(`demo: first readings queryable ${ready.seconds} s after start; over SSE: predictive ${after(result.predictive)} (${result.predictive.alarm.message}), threshold ${after(result.threshold)} (${result.threshold.alarm.message})`)
    expect(result.devices).toBeGreaterThanOrEqual(30)
    expect(ready.scenario).toMatchObject({ name: 'storm', speed: 60, from: '0:42:00' })
    expect(ready.scenario?.devices).toContain('wl-gqm-01')
    // The storm's gauge: level_m read and stored, from a dry road past the 2.5 m HI level.
    expect(Math.max(...result.levels.filter((v): v is number => typeof v === 'number'))).toBeGreaterThanOrEqual(2.5)
    // Predictive: raised with the forecast still ahead, on the flooded gauge, before its threshold alarm.
    expect(result.predictive.alarm).toMatchObject({ device: 'wl-gqm-01', rule: 'level_m.trend', severity: 'WARNING' })
    expect(result.predictive.alarm.message).toMatch(/^level_m will reach 2\.50 m in /)
    expect(result.threshold.alarm).toMatchObject({ device: 'wl-gqm-01', rule: 'level_m.threshold' })
    expect(result.predictive.transition.id).toBeLessThan(result.threshold.transition.id)
    // Both listed by the API.
    expect(result.listed.map((a) => a.id)).toEqual(expect.arrayContaining([result.predictive.alarm.id, result.threshold.alarm.id]))
    expect(code, stderr).toBe(0)
    // Everything stopped: the API and the broker no longer answer, the temporary folder is gone.
    await expect(fetch(`${ready.api}/health`)).rejects.toThrow()
    await expect(connects(ready.mqtt)).resolves.toBe(false)
    expect(existsSync(ready.dir)).toBe(false)
  }, 180_000)

  it('leaves no part running when the demo itself is killed with SIGKILL', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    const child = spawn(process.execPath, ['edge/cli/muni.mjs', 'demo', '--json'], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
    const ready = await new Promise<Ready>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (l) => l.startsWith('{"event":"ready"') && resolve(JSON.parse(l) as Ready))
      void exited.then(() => reject(new Error('demo exited before it was ready')))
    })
    try {
      const muniParts = partsOf(ready.dir).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('muni.mjs'))
      expect(muniParts.length).toBe(5) // sim, cloud, three edge agents (plus the sim's socat pairs)
      child.kill('SIGKILL')
      await exited
      const deadline = Date.now() + 20_000
      while (partsOf(ready.dir).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
      expect(partsOf(ready.dir)).toEqual([])
      await expect(connects(ready.mqtt)).resolves.toBe(false)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
      for (const pid of partsOf(ready.dir)) process.kill(pid, 'SIGKILL')
    }
  }, 90_000)

  it('stores in InfluxDB when MUNI_INFLUX_URL is set', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    requireBinary(ctx, BINARIES.influxd)
    const influx = await startInfluxd()
    servers.push(influx)
    const { result, code, stderr } = await demo({ MUNI_INFLUX_URL: influx.url, MUNI_INFLUX_DB: 'demo' }, 20, async (r) => {
      const devices = await devicesWithReadings(r, 10, 20_000)
      const one = devices.find((d) => d.kind === 'pipe-pressure') as DeviceView
      const viaApi = await api<{ rows: unknown[] }>(r, `/api/v1/devices/${one.gateway}/${one.device}/telemetry?from=${Date.now() - 600_000}`)
      const q = await fetch(`${influx.url}/query?db=demo&q=${encodeURIComponent('SELECT count(*) FROM "pipe-pressure"')}`)
      const body = (await q.json()) as { results: Array<{ series?: Array<{ values: unknown[][] }> }> }
      return { viaApi: viaApi.rows.length, influxSeries: body.results[0]?.series?.[0]?.values[0] ?? [] }
    })
    expect(result.viaApi).toBeGreaterThan(0)
    // count(*) per field: at least one field of the pipe-pressure measurement has points in influxd itself.
    expect(result.influxSeries.slice(1).some((n) => typeof n === 'number' && n > 0)).toBe(true)
    expect(code, stderr).toBe(0)
  }, 120_000)
})
