/**
 * `npm run bench -- ingest [--messages N] [--gateways G] [--window W] [--only-pipeline] [--alarms]`
 *
 * Side by side in one run, the same load (G gateways × N telemetry batches of 50 readings,
 * QoS 1, at most W unacknowledged per gateway, from a separate load-generator process):
 *   (a) raw Aedes QoS 1 pass-through to a no-op subscriber — the broker ceiling;
 *   (b) raw batched line-protocol POSTs (5,000 lines, two in flight) to the same influxd — the storage ceiling;
 *   (c) the full pipeline: `muni cloud` (embedded broker with credentials and ACL, contract
 *       validation, dedupe, registry, group commit into InfluxDB 1.x) — PUBACK only once stored;
 *       alarms disabled in its config: issue 5's pipeline is "validation, storage and registry";
 *   (d) the same with the alarm engine on (as `muni cloud run` ships: the shipped profiles'
 *       rules on every stored reading; this load moves levels through their thresholds) —
 *       what alarms cost on top (bench/alarms.ts measures them in detail). `--alarms` runs
 *       only (d) with `--only-pipeline`.
 * The bench process runs with --max-semi-space-size=32 (package.json), as `muni demo` starts
 * the cloud and cloud/README.md § Tuning recommends.
 * Prints readings/s, CPU-ms per 1,000 readings (this process; influxd separately),
 * publish→PUBACK p50/p99 (for (c) that is publish→stored), peak RSS, and the ratios.
 * Goal (issue 5): (c) ≥ 100,000 readings/s and ≥ 0.4 × the slower of (a) and (b).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Aedes } from 'aedes'
import mqtt from 'mqtt'
import { stringify } from 'yaml'
import { hashPassword } from '../cloud/broker/password.ts'
import { DEFAULT_ALARMS, type CloudConfig } from '../cloud/config/config.ts'
import type { StoredReading } from '../cloud/model.ts'
import { Cloud } from '../cloud/service.ts'
import { toLineProtocol } from '../cloud/storage/influxdb1.ts'
import { startInfluxd, type TestServer } from '../cloud/test-support/influxd.ts'

const READINGS = 50
const LOADER = fileURLToPath(new URL('./lib/ingest-load.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('..', import.meta.url))

interface Result {
  name: string
  readings: number
  ms: number
  cpuMs: number
  influxCpuMs?: number
  p50?: number
  p99?: number
  peakRssMb: number
}

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : dflt
}

function cpuTicksOf(pid: number | undefined): number {
  if (pid === undefined) return 0
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(f[11]) + Number(f[12])
  } catch {
    return 0
  }
}
const TICK_MS = 10 // USER_HZ = 100 on Linux

/** Samples this process's RSS while `f` runs. */
async function measured<T>(f: () => Promise<T>, influxPid?: number): Promise<{ value: T; cpuMs: number; influxCpuMs: number; peakRssMb: number; ms: number }> {
  let peak = process.memoryUsage.rss()
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20)
  const cpu0 = process.cpuUsage()
  const ticks0 = cpuTicksOf(influxPid)
  const t0 = performance.now()
  try {
    const value = await f()
    const cpu = process.cpuUsage(cpu0)
    return { value, ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, influxCpuMs: (cpuTicksOf(influxPid) - ticks0) * TICK_MS, peakRssMb: peak / 2 ** 20 }
  } finally {
    clearInterval(sampler)
  }
}

interface LoadResult {
  messages: number
  readings: number
  ms: number
  p50: number
  p99: number
}

/** Starts the load generator; `go()` releases it and resolves with its figures. */
async function loader(spec: object): Promise<{ child: ChildProcess; go: () => Promise<LoadResult> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', LOADER, JSON.stringify(spec)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  const next = (): Promise<string> =>
    new Promise((resolve, reject) => {
      lines.once('line', resolve)
      child.once('exit', (code) => reject(new Error(`load generator exited (${code})`)))
    })
  const ready = await next()
  if (ready !== 'ready') throw new Error(`load generator: ${ready}`)
  return {
    child,
    go: async () => {
      const done = next()
      child.stdin!.write('go\n')
      return JSON.parse(await done) as LoadResult
    },
  }
}

async function listenAedes(): Promise<{ url: string; close: () => Promise<void> }> {
  const aedes = await Aedes.createBroker()
  const server = createServer({ noDelay: true }, aedes.handle)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    close: () => new Promise<void>((resolve) => aedes.close(() => server.close(() => resolve()))),
  }
}

async function benchAedes(gateways: number, messages: number, window: number): Promise<Result> {
  const broker = await listenAedes()
  const sub = await mqtt.connectAsync(broker.url, { clientId: 'noop-sub' })
  let received = 0
  sub.on('message', () => received++)
  await sub.subscribeAsync('muni/v1/+/+/telemetry', { qos: 1 })
  const load = await loader({ url: broker.url, gateways: gws(gateways), messages, readings: READINGS, window })
  const m = await measured(async () => {
    const r = await load.go()
    while (received < r.messages) await new Promise((res) => setTimeout(res, 5))
    return r
  })
  await sub.endAsync()
  await broker.close()
  return { name: '(a) raw Aedes QoS 1 → no-op subscriber', readings: m.value.readings, ms: m.value.ms, cpuMs: m.cpuMs, p50: m.value.p50, p99: m.value.p99, peakRssMb: m.peakRssMb }
}

function gws(n: number, passwords?: string[]): Array<{ site: string; gateway: string; username?: string; password?: string }> {
  return Array.from({ length: n }, (_, i) => ({ site: 'bench', gateway: `gw-${i}`, ...(passwords ? { username: `gw-${i}`, password: passwords[i] } : {}) }))
}

async function benchLineProtocol(influx: TestServer, total: number): Promise<Result> {
  await fetch(`${influx.url}/query?q=${encodeURIComponent('CREATE DATABASE raw')}`, { method: 'POST' })
  const base = Date.now() - 86_400_000
  const readings: StoredReading[] = Array.from({ length: total }, (_, i) => ({
    site: 'bench',
    gateway: `gw-${i % 8}`,
    device: `d${i % 25}`,
    kind: 'water-level',
    ts: base + i,
    values: { level_m: 1 + (i % 300) / 100, temperature_c: 12.5, battery_v: 3.6 },
    errors: {},
    historical: false,
    seq: Math.floor(i / READINGS),
  }))
  const m = await measured(async () => {
    // Two POSTs in flight, as the pipeline's ingest keeps two store writes in flight.
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < readings.length) {
        const i = next
        next += 5000
        const body = toLineProtocol(readings.slice(i, i + 5000)).join('\n')
        const r = await fetch(`${influx.url}/write?db=raw&precision=ms`, { method: 'POST', body })
        if (r.status !== 204) throw new Error(`influxd: ${r.status} ${(await r.text()).slice(0, 300)}`)
      }
    }
    await Promise.all([worker(), worker()])
  }, influx.pid)
  return { name: '(b) raw line protocol → influxd (5,000/POST, 2 in flight)', readings: total, ms: m.ms, cpuMs: m.cpuMs, influxCpuMs: m.influxCpuMs, peakRssMb: m.peakRssMb }
}

async function benchPipeline(influx: TestServer, gateways: number, messages: number, window: number, alarms: boolean): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'muni-bench-ingest-'))
  try {
    const passwords = Array.from({ length: gateways }, (_, i) => `bench-password-${i}`)
    const entries = await Promise.all(passwords.map(async (p, i) => ({ username: `gw-${i}`, role: 'gateway', site: 'bench', gateway: `gw-${i}`, passwordHash: await hashPassword(p) })))
    writeFileSync(join(dir, 'credentials.yaml'), stringify(entries))
    const config: CloudConfig = {
      dataDir: dir,
      broker: { mode: 'embedded', host: '127.0.0.1', port: 0, allowAnonymous: false, credentials: join(dir, 'credentials.yaml') },
      storage: { kind: 'influxdb1', url: influx.url, database: 'pipeline' },
      api: { host: '127.0.0.1', port: 0 },
      ingest: { batchReadings: 5000, maxPendingReadings: 50_000, maxFutureMs: 600_000 },
      // (c): alarms off; (d): as `muni cloud run` ships (alarms on, the shipped profiles' hints).
      alarms: { ...DEFAULT_ALARMS, enabled: alarms },
    }
    const cloud = new Cloud(config, { log: () => undefined })
    const endpoints = await cloud.start()
    try {
      const load = await loader({ url: endpoints.mqtt, gateways: gws(gateways, passwords), messages, readings: READINGS, window })
      const m = await measured(() => load.go(), influx.pid)
      const stored = cloud.ingest.stats().readingsStored
      if (stored !== m.value.readings) throw new Error(`pipeline stored ${stored} readings of ${m.value.readings} acknowledged`)
      return { name: alarms ? '(d) the same + the alarm engine' : '(c) muni cloud: broker + validation + registry → influxd', readings: m.value.readings, ms: m.value.ms, cpuMs: m.cpuMs, influxCpuMs: m.influxCpuMs, p50: m.value.p50, p99: m.value.p99, peakRssMb: m.peakRssMb }
    } finally {
      await cloud.stop()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const f0 = (n: number): string => Math.round(n).toLocaleString('en-US')
const f1 = (n: number | undefined): string => (n === undefined ? '—' : n.toFixed(1))

export default async function ingest(args: string[]): Promise<void> {
  const gateways = arg(args, 'gateways', 8)
  const messages = arg(args, 'messages', 1000)
  const window = arg(args, 'window', 32)
  const alarms = args.includes('--alarms')
  const total = gateways * messages * READINGS
  process.stdout.write(`ingest: ${gateways} gateways × ${messages} batches × ${READINGS} readings = ${f0(total)} readings per run, ≤ ${window} unacknowledged per gateway\n`)
  const influx = await startInfluxd()
  try {
    if (args.includes('--only-pipeline')) {
      // For profiling (node --cpu-prof): the pipeline alone.
      const r = await benchPipeline(influx, gateways, messages, window, alarms)
      process.stdout.write(`${r.name}: ${f0(r.readings / (r.ms / 1000))} readings/s, ${f1((r.cpuMs / r.readings) * 1000)} CPU-ms / 1,000 readings\n`)
      return
    }
    const results = [
      await benchAedes(gateways, messages, window),
      await benchLineProtocol(influx, total),
      await benchPipeline(influx, gateways, messages, window, false),
      await benchPipeline(influx, gateways, messages, window, true),
    ]
    process.stdout.write('\n| run | readings/s | CPU-ms / 1,000 readings (this process) | influxd CPU-ms / 1,000 | p50 ms | p99 ms | peak RSS MB |\n|---|---:|---:|---:|---:|---:|---:|\n')
    for (const r of results) {
      const rate = r.readings / (r.ms / 1000)
      process.stdout.write(`| ${r.name} | ${f0(rate)} | ${f1((r.cpuMs / r.readings) * 1000)} | ${r.influxCpuMs === undefined ? '—' : f1((r.influxCpuMs / r.readings) * 1000)} | ${f1(r.p50)} | ${f1(r.p99)} | ${f0(r.peakRssMb)} |\n`)
    }
    const [a, b, c, d] = results.map((r) => r.readings / (r.ms / 1000)) as [number, number, number, number]
    const ceiling = Math.min(a, b)
    process.stdout.write(`\npipeline / slower ceiling = ${f0(c)} / ${f0(ceiling)} = ${(c / ceiling).toFixed(2)} (goal ≥ 0.40)\n`)
    process.stdout.write(`pipeline readings/s = ${f0(c)} (goal ≥ 100,000); pipeline / Aedes = ${(c / a).toFixed(2)}, pipeline / line protocol = ${(c / b).toFixed(2)}\n`)
    process.stdout.write(`with the alarm engine: ${f0(d)} readings/s = ${(d / c).toFixed(2)} × the pipeline without it\n`)
  } finally {
    await influx.stop()
  }
}
