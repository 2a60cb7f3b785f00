/**
 * `npm run bench -- alarms [--devices N] [--rounds N] [--seconds S] [--warmup S] [--district-rate M]
 *  [--district-readings R] [--gateways G] [--only eval|latency]`
 *
 * (1) Rule-evaluation cost per reading, 10,000 devices × 5 rules (bench/lib/alarm-eval.ts):
 *     the AlarmEngine vs the pure evaluator vs the floor of one comparison per rule.
 * (2) Publish → SSE alarm event latency through the whole cloud (`Cloud`: embedded broker,
 *     ingest, InfluxDB (influxd) or SQLite storage, alarm engine with the shipped profiles'
 *     rules, API SSE stream), with the load generator and the SSE listener in their own
 *     processes:
 *       - at district load: M messages/s (default 800) of R readings (default 10);
 *       - the maximum ingest rate of this setup (50 readings a message, as fast as acked),
 *       - at half that rate.
 *     Latency = SSE arrival − the triggering reading's sample time (= its publish time).
 *     A warm-up at district load (--warmup, default 5 s) runs first and is not counted.
 * Nothing here asserts; the figures are for reading (goal: p99 ≤ 20 ms at district load).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface, type Interface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { hashPassword } from '../cloud/broker/password.ts'
import type { CloudConfig } from '../cloud/config/config.ts'
import { Cloud } from '../cloud/service.ts'
import { startInfluxd, type TestServer } from '../cloud/test-support/influxd.ts'
import { measureEvaluation } from './lib/alarm-eval.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const LOADER = fileURLToPath(new URL('./lib/alarm-load.ts', import.meta.url))
const LISTENER = fileURLToPath(new URL('./lib/sse-listen.ts', import.meta.url))

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : dflt
}
const f0 = (n: number): string => Math.round(n).toLocaleString('en-US')
const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '—')

/** A child speaking lines: `next()` is its next stdout line. */
function child(script: string, spec: object): { proc: ChildProcess; next: () => Promise<string>; send: (l: string) => void } {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(spec)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] })
  const lines: Interface = createInterface({ input: proc.stdout! })
  const queue: string[] = []
  const waiting: Array<(l: string) => void> = []
  lines.on('line', (l) => (waiting.length > 0 ? waiting.shift()!(l) : queue.push(l)))
  return {
    proc,
    next: () =>
      queue.length > 0
        ? Promise.resolve(queue.shift()!)
        : new Promise((resolve, reject) => {
            waiting.push(resolve)
            proc.once('exit', (code) => reject(new Error(`${script} exited (${code})`)))
          }),
    send: (l) => void proc.stdin!.write(`${l}\n`),
  }
}

interface Phase {
  name: string
  rate: number
  readingsPerMsg: number
  offered: number
  stored: number
  ms: number
  events: number
  p50: number
  p99: number
  max: number
  cpuMs: number
}

async function latency(args: string[]): Promise<void> {
  const gateways = arg(args, 'gateways', 8)
  const seconds = arg(args, 'seconds', 10)
  const districtRate = arg(args, 'district-rate', 800)
  const districtReadings = arg(args, 'district-readings', 10)
  const useSqlite = args.includes('--sqlite')
  let influx: TestServer | undefined
  const dir = mkdtempSync(join(tmpdir(), 'muni-bench-alarms-'))
  const procs: ChildProcess[] = []
  let cloud: Cloud | undefined
  try {
    if (!useSqlite) influx = await startInfluxd()
    const passwords = Array.from({ length: gateways }, (_, i) => `bench-password-${i}`)
    const entries = await Promise.all(passwords.map(async (p, i) => ({ username: `gw-${i}`, role: 'gateway', site: 'bench', gateway: `gw-${i}`, passwordHash: await hashPassword(p, { N: 1024 }) })))
    writeFileSync(join(dir, 'credentials.yaml'), stringify(entries))
    const config: CloudConfig = {
      dataDir: dir,
      broker: { mode: 'embedded', host: '127.0.0.1', port: 0, allowAnonymous: false, credentials: join(dir, 'credentials.yaml') },
      storage: influx ? { kind: 'influxdb1', url: influx.url, database: 'alarms' } : { kind: 'sqlite', path: join(dir, 'telemetry.sqlite') },
      api: { host: '127.0.0.1', port: 0 },
      ingest: { batchReadings: 5000, maxPendingReadings: 50_000, maxFutureMs: 600_000 },
      alarms: { enabled: true, tickMs: 1000, webhooks: [] },
    }
    cloud = new Cloud(config, { log: () => undefined })
    const endpoints = await cloud.start()
    const { token } = cloud.tokens.create('bench', 'viewer')
    const listener = child(LISTENER, { api: endpoints.api, token })
    procs.push(listener.proc)
    if ((await listener.next()) !== 'ready') throw new Error('SSE listener not ready')
    const gws = passwords.map((password, i) => ({ site: 'bench', gateway: `gw-${i}`, username: `gw-${i}`, password }))
    const phases: Phase[] = []
    const load = child(LOADER, { url: endpoints.mqtt, gateways: gws })
    procs.push(load.proc)
    if ((await load.next()) !== 'ready') throw new Error('load generator not ready')
    const run = async (name: string, rate: number, readings: number, secs: number, triggerEvery: number): Promise<Phase> => {
      const c = cloud as Cloud
      await new Promise((r) => setTimeout(r, 500)) // births applied
      const stored0 = c.ingest.stats().readingsStored
      const cpu0 = process.cpuUsage()
      const t0 = performance.now()
      process.stderr.write(`  ${name} …\n`)
      load.send(`go ${rate} ${secs} ${readings} ${triggerEvery}`)
      const figures = JSON.parse(await load.next()) as { messages: number; readings: number; ms: number }
      // Wait until the readings are stored and evaluated, then ask the listener.
      while (c.ingest.stats().readingsStored - stored0 < figures.readings) {
        if (performance.now() - t0 > (secs + 120) * 1000) throw new Error(`${name}: ${c.ingest.stats().readingsStored - stored0} of ${figures.readings} readings stored after ${secs + 120} s`)
        await new Promise((r) => setTimeout(r, 20))
      }
      const ms = performance.now() - t0
      const cpu = process.cpuUsage(cpu0)
      await new Promise((r) => setTimeout(r, 300))
      listener.send('report')
      const l = JSON.parse(await listener.next()) as { events: number; p50: number; p99: number; max: number }
      return { name, rate, readingsPerMsg: readings, offered: figures.readings, stored: c.ingest.stats().readingsStored - stored0, ms, ...l, cpuMs: (cpu.user + cpu.system) / 1000 }
    }
    process.stdout.write(`latency: ${gateways} gateways × 100 water-level devices, ${influx ? 'influxd 1.x' : 'SQLite'} storage, shipped profile rules; ${seconds} s per phase\n`)
    // Warm-up at district load, not counted: JIT, influxd's first writes, SQLite pages.
    await run('warm-up', districtRate, districtReadings, arg(args, 'warmup', 5), 20)
    phases.push(await run(`district load: ${districtRate} msg/s × ${districtReadings} readings`, districtRate, districtReadings, seconds, 20))
    // The maximum: offered well above what the pipeline takes; what it stores per second is the maximum.
    const max = await run('maximum ingest (offered 4,000 msg/s × 50)', 4000, 50, Math.max(3, Math.round(seconds / 2)), 200)
    phases.push(max)
    const maxRate = max.stored / (max.ms / 1000)
    const halfMsgs = Math.max(1, Math.round(maxRate / 2 / 50))
    phases.push(await run(`half the maximum: ${f0(halfMsgs)} msg/s × 50 readings`, halfMsgs, 50, seconds, 100))
    process.stdout.write('\n| phase | readings/s stored | alarm events on SSE | p50 ms | p99 ms | max ms | cloud CPU-ms / 1,000 readings |\n|---|---:|---:|---:|---:|---:|---:|\n')
    for (const p of phases) {
      process.stdout.write(`| ${p.name} | ${f0(p.stored / (p.ms / 1000))} | ${f0(p.events)} | ${f1(p.p50)} | ${f1(p.p99)} | ${f1(p.max)} | ${f1((p.cpuMs / p.stored) * 1000)} |\n`)
    }
    const d = phases[0] as Phase
    process.stdout.write(`\ndistrict load p99 publish → SSE = ${f1(d.p99)} ms (goal ≤ 20 ms); maximum ingest here ${f0(maxRate)} readings/s\n`)
  } finally {
    for (const p of procs) p.kill('SIGKILL')
    await cloud?.stop()
    await influx?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

export default async function alarms(args: string[]): Promise<void> {
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined
  if (only === undefined || only === 'eval') {
    const devices = arg(args, 'devices', 10_000)
    const rounds = arg(args, 'rounds', 30)
    const e = measureEvaluation(devices, rounds)
    process.stdout.write(`rule evaluation: ${f0(e.devices)} devices × 5 rules (threshold, rate, trend, quality, stale), ${f0(e.readings)} readings, ${f0(e.transitions)} transitions\n\n`)
    process.stdout.write('| path | CPU µs / reading | × floor | readings/s on one core |\n|---|---:|---:|---:|\n')
    for (const [name, us] of [
      ['(a) AlarmEngine: evaluate + lifecycle + SQLite commits', e.engine],
      ['(b) pure evaluator (evaluate), 5 rules', e.pure],
      ['(c) floor: one comparison per rule', e.floor],
    ] as const) {
      process.stdout.write(`| ${name} | ${us.toFixed(2)} | ${(us / e.floor).toFixed(0)} | ${f0(1e6 / us)} |\n`)
    }
    process.stdout.write(`\nby rule kind (pure evaluator, one rule): ${Object.entries(e.byKind).map(([k, us]) => `${k} ${us.toFixed(2)} µs`).join(', ')}\n`)
    process.stdout.write(`engine / pure = ${(e.engine / e.pure).toFixed(2)}\n\n`)
  }
  if (only === undefined || only === 'latency') await latency(args)
}
