/**
 * `npm run bench -- edge [--only plan|tcp|rtu|agent|drain] [--seconds S] [--agent-seconds S] [--readings N]`
 *
 * The edge agent, each figure next to its baseline or goal, in one run:
 *
 * (1) plan   requests per full sweep over the sample district's devices: the request
 *            planner (planReads/planStats, maxGap 10) against one read per point.
 * (2) tcp    wall time of one sweep of 100 simulated devices (shipped profiles, cycled
 *            from the sample district) behind 4 ModbusTcpServers × 25 unit ids, read by
 *            our ModbusTcpTransport at concurrency 1 and 8: planned reads vs one read
 *            per point. Device quirks (pauses) are off and filler reads answer zeros:
 *            this measures request count and transport, not device pacing.
 * (3) rtu    registers/s of our ModbusRtuTransport at 9600 baud 8E1 over a socat pty
 *            pair to the wire-timed ModbusRtuServer, against the wire limit of the same
 *            request mix (rtu-timing.ts); goal ≥ 0.8 of the limit.
 * (4) agent  RSS and CPU of `muni edge run` (a child process) polling 100 simulated TCP
 *            devices every second and publishing to an in-process Aedes broker; goal
 *            ≤ 80 MB and ≤ 10 % of one core. Measured as production runs it (the
 *            precompiled bundle, edge/cli/agent-bundle.mjs) and, for comparison, from the
 *            sources under tsx with V8's defaults. Baselines: an idle `node -e` and an
 *            idle `node --import tsx -e`, and their start-up time.
 * (5) drain  360,000 readings appended to an Outbox while the uplink is down, then an
 *            Uplink connects to Aedes; time until a subscriber has every reading (goal
 *            ≤ 20 s). Baseline: raw mqtt.js publishing the very same payload bytes at
 *            QoS 1 with the same in-flight window (8), i.e. the broker's ceiling.
 *
 * Loopback and ptys only; every stage is bounded in time. Nothing asserts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import mqtt from 'mqtt'
import type { Socket } from 'node:net'
import { renderTable } from '../edge/cli/table.ts'
import { ModbusRtuTransport } from '../edge/drivers/modbus-rtu.ts'
import { createTransport } from '../edge/drivers/registry.ts'
import type { ReadSpec, Transport } from '../edge/drivers/transport.ts'
import { Outbox } from '../edge/outbox/index.ts'
import { planReads, planStats, type ReadRequest } from '../edge/polling/plan.ts'
import { loadProfiles } from '../edge/profiles/load.ts'
import { MemorySessionStore, Uplink } from '../edge/uplink/index.ts'
import { parseDistrict } from '../shared/district/parse.ts'
import { transactionTimeMs } from '../shared/modbus/rtu-timing.ts'
import type { Reading } from '../shared/mqtt/index.ts'
import { isBitTable, type ResolvedProfile } from '../shared/profile/resolve.ts'
import { SimulatedDevice } from '../simulators/device/device.ts'
import { openPtyPair } from '../simulators/modbus/pty-pair.ts'
import { ModbusRtuServer } from '../simulators/modbus/rtu-server.ts'
import { ModbusTcpServer } from '../simulators/modbus/tcp-server.ts'
import { freePort, startAedes } from '../simulators/test-support/broker.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DISTRICT = join(ROOT, 'simulators/districts/sample.yaml')
const MUNI = join(ROOT, 'edge/cli/muni.mjs')
const MAX_GAP = 10
const out = (s = ''): void => void process.stdout.write(`${s}\n`)
const x = (a: number, b: number): string => (b === 0 ? '-' : `${(a / b).toFixed(2)}×`)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

// ---------------------------------------------------------------- cleanup of children and temp dirs

const children = new Set<ChildProcess>()
const tempDirs = new Set<string>()
function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
}
process.once('exit', killChildren)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killChildren()
    process.exit(130)
  })
}
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.add(d)
  return d
}
function removeTemp(d: string): void {
  rmSync(d, { recursive: true, force: true })
  tempDirs.delete(d)
}
async function stopChild(c: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', ms = 5000): Promise<void> {
  if (c.exitCode === null && c.signalCode === null) {
    const exited = new Promise<void>((r) => c.once('exit', () => r()))
    c.kill(signal)
    const t = setTimeout(() => c.kill('SIGKILL'), ms)
    await exited
    clearTimeout(t)
  }
  children.delete(c)
}

// ---------------------------------------------------------------- district and naive plan

interface District {
  profiles: ReadonlyMap<string, ResolvedProfile>
  /** Profile id of each device of the sample district, in file order. */
  deviceProfiles: string[]
}

function loadDistrict(): District {
  const lib = loadProfiles()
  if (lib.issues.length > 0) throw new Error(`profiles have issues: ${lib.issues.map((i) => `${i.file}:${i.line} ${i.reason}`).join('; ')}`)
  const parsed = parseDistrict(readFileSync(DISTRICT, 'utf8'), 'simulators/districts/sample.yaml', { profiles: lib.profiles })
  if (!parsed.district) throw new Error(`sample district has issues: ${parsed.issues.map((i) => `${i.line}:${i.column} ${i.reason}`).join('; ')}`)
  return { profiles: lib.profiles, deviceProfiles: parsed.district.devices.map((d) => d.profile) }
}

/** One read per point, exactly its span (bench/planner.ts's baseline). */
function naivePlan(profile: ResolvedProfile): ReadRequest[] {
  const fcOf = { coil: 1, discrete: 2, holding: 3, input: 4 } as const
  return profile.points.map((p) => ({ table: p.table, start: p.address, count: p.registers, points: [p.name], fc: fcOf[p.table] }))
}

/** 100 devices: the district's device profiles, cycled. */
function hundred(d: District, n = 100): ResolvedProfile[] {
  return Array.from({ length: n }, (_, i) => d.profiles.get(d.deviceProfiles[i % d.deviceProfiles.length]!)!)
}

// ---------------------------------------------------------------- (1) requests per sweep

function benchPlan(d: District): void {
  const counts = new Map<string, number>()
  for (const p of d.deviceProfiles) counts.set(p, (counts.get(p) ?? 0) + 1)
  const rows: string[][] = []
  let naive = 0
  let planned = 0
  let regsN = 0
  let regsP = 0
  for (const id of [...counts.keys()].sort()) {
    const profile = d.profiles.get(id)!
    const s = planStats(planReads(profile, { maxGap: MAX_GAP }), profile)
    const n = counts.get(id)!
    naive += n * s.naive.requests
    planned += n * s.requests
    regsN += n * (s.naive.registers + s.naive.bits)
    regsP += n * (s.registers + s.bits)
    rows.push([id, String(n), String(s.naive.requests), String(s.requests), x(s.naive.requests, s.requests)])
  }
  rows.push([`district (${d.deviceProfiles.length} devices)`, String(d.deviceProfiles.length), String(naive), String(planned), x(naive, planned)])
  out(`\n(1) requests per full sweep, planner (maxGap ${MAX_GAP}) vs one read per point — per device; last row summed over the district`)
  out(renderTable(['profile', 'devices', 'naive reads', 'planned reads', 'naive / planned'], rows))
  out(`    registers+bits on the wire per district sweep: naive ${regsN}, planned ${regsP} (filler ${regsP - regsN})`)
}

// ---------------------------------------------------------------- (2) TCP sweep of 100 devices

interface Job {
  server: number
  unit: number
  spec: ReadSpec
}

async function benchTcp(d: District, seconds: number): Promise<void> {
  const profiles = hundred(d)
  const SERVERS = 4
  const PER = 25
  const devices: SimulatedDevice[] = []
  const servers: ModbusTcpServer[] = []
  for (let s = 0; s < SERVERS; s++) {
    const units = new Map<number, SimulatedDevice>()
    for (let u = 1; u <= PER; u++) {
      const dev = new SimulatedDevice({ profile: profiles[s * PER + u - 1]!, quirks: false, unmapped: 'zeros', seed: s * PER + u })
      devices.push(dev)
      units.set(u, dev)
    }
    const server = new ModbusTcpServer({ units })
    await server.start()
    servers.push(server)
  }
  const jobsOf = (plan: (p: ResolvedProfile) => ReadRequest[]): Job[] =>
    profiles.flatMap((p, i) => plan(p).map((r) => ({ server: Math.floor(i / PER), unit: (i % PER) + 1, spec: { table: r.table, start: r.start, count: r.count } })))
  const plans = { planned: jobsOf((p) => planReads(p, { maxGap: MAX_GAP })), naive: jobsOf(naivePlan) }
  const rows: string[][] = []
  const ratios: string[] = []
  try {
    for (const concurrency of [1, 8]) {
      const transports = servers.map((s) => createTransport({ type: 'tcp', host: '127.0.0.1', port: s.port, concurrency, maxQueue: 100_000 }))
      await Promise.all(transports.map((t) => t.start()))
      const msPer: Record<string, number> = {}
      try {
        for (const [name, jobs] of Object.entries(plans)) {
          // One sweep: every request queued at once; each bus (server) pipelines `concurrency` of them.
          const sweep = async (): Promise<number> => {
            const results = await Promise.all(jobs.map((j) => transports[j.server]!.read(j.unit, j.spec, 2000)))
            return results.filter((r) => !r.ok).length
          }
          for (let i = 0; i < 3; i++) await sweep() // warm-up
          let n = 0
          let failures = 0
          const budget = (seconds * 1000) / 4
          const t0 = performance.now()
          while (n < 3 || (performance.now() - t0 < budget && n < 200)) {
            failures += await sweep()
            n++
          }
          const ms = (performance.now() - t0) / n
          msPer[name] = ms
          rows.push([String(concurrency), name, String(jobs.length), String(n), ms.toFixed(1), ((jobs.length / ms) * 1000).toFixed(0), String(failures)])
        }
      } finally {
        await Promise.all(transports.map((t) => t.stop()))
      }
      ratios.push(`concurrency ${concurrency}: naive / planned sweep time ${x(msPer.naive!, msPer.planned!)}`)
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
  }
  out(`\n(2) Modbus TCP: one sweep of 100 devices (4 ModbusTcpServers × 25 units, same process), ModbusTcpTransport per server, ~${(seconds / 4).toFixed(1)} s per row`)
  out(renderTable(['concurrency', 'plan', 'requests', 'sweeps', 'ms/sweep', 'requests/s', 'failed reads'], rows))
  for (const r of ratios) out(`    ${r}`)
}

// ---------------------------------------------------------------- (3) RTU at 9600 baud

function responseBytes(r: ReadSpec): number {
  return 5 + (isBitTable(r.table) ? Math.ceil(r.count / 8) : 2 * r.count)
}

async function benchRtu(d: District, seconds: number): Promise<void> {
  const BAUD = 9600
  // The profile of the district with the most planned registers per sweep, and a 125-register bank.
  const pick = [...new Set(d.deviceProfiles)]
    .map((id) => d.profiles.get(id)!)
    .sort((a, b) => planReads(b, { maxGap: MAX_GAP }).reduce((s, r) => s + r.count, 0) - planReads(a, { maxGap: MAX_GAP }).reduce((s, r) => s + r.count, 0))[0]!
  const bank: ResolvedProfile = {
    ...pick,
    quirks: { ...pick.quirks, turnaroundMs: 0 },
  }
  const cases: Array<{ name: string; profile: ResolvedProfile; reads: ReadSpec[]; unmapped: 'zeros' | 'exception' }> = [
    { name: `${pick.id} planned reads (turnaround ${pick.quirks.turnaroundMs} ms)`, profile: pick, reads: planReads(pick, { maxGap: MAX_GAP }), unmapped: 'zeros' },
    { name: `${pick.id} planned reads, turnaround 0`, profile: bank, reads: planReads(pick, { maxGap: MAX_GAP }), unmapped: 'zeros' },
    { name: 'FC03 × 125 registers, turnaround 0', profile: bank, reads: [{ table: 'holding', start: 0, count: 125 }], unmapped: 'zeros' },
  ]
  const rows: string[][] = []
  for (const c of cases) {
    const pty = await openPtyPair()
    // Quirks off (a pause would drop back-to-back requests: the engine pauses, the bare driver does not); the profile's turnaround is kept.
    const dev = new SimulatedDevice({ profile: c.profile, quirks: false, unmapped: c.unmapped })
    const unit = { turnaroundMs: c.profile.quirks.turnaroundMs, respond: (pdu: Uint8Array) => dev.respond(pdu) }
    const server = new ModbusRtuServer({ units: new Map([[1, unit]]), path: pty.a, baudRate: BAUD, parity: 'even', stopBits: 1, timing: true })
    const t: Transport = new ModbusRtuTransport({ path: pty.b, baud: BAUD, parity: 'even', stopBits: 1 })
    try {
      await server.start()
      await t.start()
      let i = 0
      let regs = 0
      let ok = 0
      let fail = 0
      let wireMs = 0
      const one = async (count: boolean): Promise<void> => {
        const r = c.reads[i++ % c.reads.length]!
        const res = await t.read(1, r, 1000)
        if (!count) return
        if (res.ok) {
          ok++
          regs += r.count
        } else fail++
        wireMs += transactionTimeMs({ baud: BAUD, requestBytes: 8, responseBytes: responseBytes(r), turnaroundMs: c.profile.quirks.turnaroundMs })
      }
      await one(false) // warm-up
      i = 0
      const t0 = performance.now()
      while (performance.now() - t0 < seconds * 1000 || i % c.reads.length !== 0) await one(true)
      const elapsed = performance.now() - t0
      const rate = (regs / elapsed) * 1000
      const limit = (c.reads.length > 0 ? (regs / wireMs) * 1000 : 0)
      rows.push([c.name, String(c.reads.length), String(ok), String(fail), rate.toFixed(1), limit.toFixed(1), (rate / limit).toFixed(3), `${server.lateness.mean.toFixed(2)}/${server.lateness.max.toFixed(2)}`])
    } finally {
      await t.stop()
      await server.stop()
      await pty.close()
    }
  }
  out(`\n(3) Modbus RTU, ${BAUD} baud 8E1 (11 bits/char), ModbusRtuTransport → socat pty → ModbusRtuServer (wire-timed), ≥${seconds} s per row; goal ≥ 0.8 of the wire limit`)
  out(renderTable(['request mix', 'reads/cycle', 'ok', 'failed', 'registers/s', 'wire limit regs/s', 'fraction', 'server late mean/max ms'], rows))
  out('    wire limit: Σ registers / Σ (8-byte request + t3.5 + turnaround + (5 + 2N)-byte answer + t3.5) over the same reads (bits count as registers)')
}

// ---------------------------------------------------------------- (4) agent RSS and CPU

const TICK = 100 // USER_HZ on Linux
function procSample(pid: number): { rssKb: number; cpuTicks: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields after ")": state(3) … utime(14) stime(15), so index 11 and 12 here.
    return { rssKb, cpuTicks: Number(f[11]) + Number(f[12]) }
  } catch {
    return undefined
  }
}

/** RSS of an idle process ~`afterMs` after start, and its start-up time (exit of the same command with no timer). */
async function idleBaseline(args: string[], afterMs: number): Promise<{ rssMb: number; startMs: number }> {
  const t0 = performance.now()
  await new Promise<void>((resolve, reject) => {
    const c = spawn(process.execPath, [...args, ''], { stdio: 'ignore', cwd: ROOT })
    children.add(c)
    c.once('error', reject)
    c.once('exit', () => {
      children.delete(c)
      resolve()
    })
  })
  const startMs = performance.now() - t0
  const c = spawn(process.execPath, [...args, 'setTimeout(() => {}, 60000)'], { stdio: 'ignore', cwd: ROOT })
  children.add(c)
  await sleep(afterMs)
  const s = procSample(c.pid!)
  await stopChild(c, 'SIGKILL')
  return { rssMb: (s?.rssKb ?? NaN) / 1024, startMs }
}

async function benchAgent(d: District, warmupS: number, seconds: number): Promise<void> {
  const profiles = hundred(d)
  const SERVERS = 4
  const PER = 25
  const servers: ModbusTcpServer[] = []
  const devices: SimulatedDevice[] = []
  for (let s = 0; s < SERVERS; s++) {
    const units = new Map<number, SimulatedDevice>()
    for (let u = 1; u <= PER; u++) {
      // Quirks on (the engine honours pauses); filler answers zeros, as the planner assumes of a device.
      const dev = new SimulatedDevice({ profile: profiles[s * PER + u - 1]!, unmapped: 'zeros', seed: s * PER + u })
      devices.push(dev)
      units.set(u, dev)
    }
    const server = new ModbusTcpServer({ units })
    await server.start()
    servers.push(server)
  }
  const expectedReqPerS = profiles.reduce((s, p) => s + planReads(p, { maxGap: MAX_GAP }).length, 0)
  const broker = await startAedes()
  let published = 0
  broker.aedes.on('publish', (packet, client) => {
    if (client && packet.topic.endsWith('/telemetry')) published++
  })
  const dir = tempDir('muni-bench-agent-')
  const httpPort = await freePort()
  const yaml = [
    'gateway: gw-bench',
    'site: bench',
    'broker:',
    `  url: ${broker.url}`,
    'buffer:',
    `  path: ${join(dir, 'buffer.sqlite')}`,
    '  maxReadings: 1000000',
    '  maxAgeH: 168',
    'http:',
    `  port: ${httpPort}`,
    'defaults:',
    '  timeoutMs: 1000',
    'buses:',
    ...servers.flatMap((s, i) => [`  - id: conv-${i + 1}`, '    type: tcp', '    host: 127.0.0.1', `    port: ${s.port}`, '    concurrency: 8']),
    'devices:',
    ...profiles.flatMap((p, i) => [`  - id: dev-${String(i + 1).padStart(3, '0')}`, `    bus: conv-${Math.floor(i / PER) + 1}`, `    unit: ${(i % PER) + 1}`, `    profile: ${p.id}`, '    pollMs: 1000']),
  ].join('\n')
  const config = join(dir, 'gateway.yaml')
  writeFileSync(config, `${yaml}\n`)

  const base = {
    node: await idleBaseline(['-e'], 1500),
    tsx: await idleBaseline(['--import', 'tsx', '-e'], 1500),
  }

  // `muni edge run` as a gateway runs it: the precompiled bundle (edge/cli/agent-bundle.mjs),
  // built here first so that start-up does not include the one-off build; and the same
  // command from the TypeScript sources under tsx with V8's defaults, for comparison.
  execFileSync(process.execPath, [join(ROOT, 'edge/cli/agent-bundle.mjs'), '--build'], { stdio: 'inherit' })
  const runs: Array<{ label: string; env: NodeJS.ProcessEnv }> = [
    { label: 'muni edge run (100 devices @ 1 s)', env: {} },
    { label: '  same, from sources (tsx, V8 defaults)', env: { MUNI_EDGE_BUNDLE: '0', MUNI_EDGE_V8_FLAGS: '' } },
  ]
  const rows: string[][] = []
  const notes: string[] = []
  try {
    for (const run of runs) {
      const m = await measureAgent(config, run.env, { servers, devices, published: () => published, httpPort, warmupS, seconds })
      const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length
      const maxOf = (a: number[]): number => Math.max(...a)
      rows.push([run.label, mean(m.rss).toFixed(1), maxOf(m.rss).toFixed(1), mean(m.cpu).toFixed(1), maxOf(m.cpu).toFixed(1), `${m.startupMs.toFixed(0)} (to 1st request)`])
      if (notes.length > 0) continue
      notes.push(`    RSS: ${(maxOf(m.rss) / 80).toFixed(2)} of the 80 MB goal (max); agent minus idle node: ${(mean(m.rss) - base.node.rssMb).toFixed(1)} MB; tsx over bare node: ${(base.tsx.rssMb - base.node.rssMb).toFixed(1)} MB`)
      notes.push(`    CPU: ${(mean(m.cpu) / 10).toFixed(2)} of the 10 %-of-one-core goal (mean); CPU % is of one core, utime+stime from /proc/PID/stat`)
      notes.push(`    work done: ${m.reqPerS.toFixed(0)} Modbus requests/s served vs ${expectedReqPerS} planned reads per second expected (${(m.reqPerS / expectedReqPerS).toFixed(2)}); in the window ${m.exceptions} exception answers and ${m.silent} requests the devices left unanswered (quirks: pauseBetweenRequestsMs); ${m.published} telemetry batches published in the window; ${m.health}`)
    }
    out(`\n(4) agent: \`node edge/cli/muni.mjs edge run\` polling 100 TCP devices every 1 s (4 buses × 25, concurrency 8) → Aedes; warm-up ${warmupS} s, then ${seconds} samples 1 s apart`)
    out(
      renderTable(['process', 'RSS mean MB', 'RSS max MB', 'CPU mean %', 'CPU max %', 'start-up ms'], [
        ...rows,
        ['idle node -e', base.node.rssMb.toFixed(1), '', '', '', base.node.startMs.toFixed(0)],
        ['idle node --import tsx -e', base.tsx.rssMb.toFixed(1), '', '', '', base.tsx.startMs.toFixed(0)],
      ]),
    )
    for (const n of notes) out(n)
  } finally {
    await broker.close()
    await Promise.all(servers.map((s) => s.stop()))
    removeTemp(dir)
  }
}

interface AgentFigures {
  rss: number[]
  cpu: number[]
  startupMs: number
  reqPerS: number
  exceptions: number
  silent: number
  published: number
  health: string
}

/** Starts `muni edge run --config` with `env` added, samples its RSS and CPU once a second, stops it. */
async function measureAgent(
  config: string,
  env: NodeJS.ProcessEnv,
  o: { servers: ModbusTcpServer[]; devices: SimulatedDevice[]; published: () => number; httpPort: number; warmupS: number; seconds: number },
): Promise<AgentFigures> {
  let log = ''
  const t0 = performance.now()
  const agent = spawn(process.execPath, [MUNI, 'edge', 'run', '--config', config], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } })
  children.add(agent)
  agent.stderr?.on('data', (b: Buffer) => {
    log = (log + b.toString()).slice(-20_000)
  })
  const served = (): number => o.servers.reduce((s, v) => s + v.stats.responses, 0)
  const count = (k: 'exceptions' | 'silent'): number => o.devices.reduce((s, v) => s + v.stats[k], 0)
  try {
    // Start-up: until the first Modbus request arrives (bounded at 30 s).
    const served0 = served()
    while (served() === served0) {
      if (agent.exitCode !== null) throw new Error(`agent exited with ${agent.exitCode}: ${log.trim().slice(-1500)}`)
      if (performance.now() - t0 > 30_000) throw new Error(`agent sent no request within 30 s: ${log.trim().slice(-1500)}`)
      await sleep(50)
    }
    const startupMs = performance.now() - t0
    await sleep(o.warmupS * 1000)
    const rss: number[] = []
    const cpu: number[] = []
    const exc0 = count('exceptions')
    const sil0 = count('silent')
    let prev = procSample(agent.pid!)!
    let prevAt = performance.now()
    const req0 = served()
    const pub0 = o.published()
    const w0 = performance.now()
    while (performance.now() - w0 < o.seconds * 1000) {
      await sleep(1000)
      const s = procSample(agent.pid!)
      if (!s) throw new Error(`agent gone: ${log.trim().slice(-1500)}`)
      const now = performance.now()
      rss.push(s.rssKb / 1024)
      cpu.push(((s.cpuTicks - prev.cpuTicks) / TICK / ((now - prevAt) / 1000)) * 100)
      prev = s
      prevAt = now
    }
    const window = (performance.now() - w0) / 1000
    let health = ''
    try {
      const res = await fetch(`http://127.0.0.1:${o.httpPort}/health`)
      health = `/health answered ${res.status}`
      await res.text()
    } catch (err) {
      health = `health endpoint failed: ${(err as Error).message}`
    }
    return { rss, cpu, startupMs, reqPerS: (served() - req0) / window, exceptions: count('exceptions') - exc0, silent: count('silent') - sil0, published: o.published() - pub0, health }
  } finally {
    await stopChild(agent, 'SIGTERM', 8000)
  }
}

// ---------------------------------------------------------------- (5) backlog drain

async function benchDrain(total: number, timeoutS: number): Promise<void> {
  const SITE = 'bench'
  const GW = 'gw-bench'
  const WINDOW = 8
  const dir = tempDir('muni-bench-drain-')
  const broker = await startAedes()
  const outbox = new Outbox({ path: join(dir, 'outbox.sqlite'), site: SITE, gateway: GW, maxReadings: total + 10_000, maxAgeMs: 7 * 86_400_000 })
  const clients: mqtt.MqttClient[] = []
  let uplink: Uplink | undefined
  try {
    outbox.open()
    const ta = performance.now()
    const base = Date.now() - 3_600_000
    const CHUNK = 1000
    for (let i = 0; i < total; i += CHUNK) {
      const rs: Reading[] = []
      for (let j = i; j < Math.min(total, i + CHUNK); j++) rs.push({ device: `dev-${String(j % 100).padStart(3, '0')}`, ts: base + Math.floor(j / 100) * 10, values: { level_m: (j % 997) / 100 }, errors: {}, historical: false })
      outbox.append(rs)
    }
    const appendS = (performance.now() - ta) / 1000

    // Subscriber: counts readings, keeps the payloads for the baseline.
    const sub = mqtt.connect(broker.url, { reconnectPeriod: 0, clientId: 'bench-cloud' })
    clients.push(sub)
    sub.on('error', () => {})
    await new Promise<void>((r, j) => {
      sub.once('connect', () => r())
      sub.once('error', j)
    })
    ;(sub.stream as Socket).setNoDelay?.(true)
    const payloads: Buffer[] = []
    let oursReadings = 0
    let baseMessages = 0
    let baseReadings = 0
    let doneOurs: (() => void) | undefined
    let doneBase: (() => void) | undefined
    sub.on('message', (topic, payload) => {
      if (topic === `muni/v1/${SITE}/${GW}/telemetry`) {
        payloads.push(payload)
        oursReadings += (JSON.parse(payload.toString()) as { readings: unknown[] }).readings.length
        if (oursReadings >= total) doneOurs?.()
      } else if (topic === 'bench/baseline') {
        // Parsed as well, so both sides pay the subscriber the same.
        baseReadings += (JSON.parse(payload.toString()) as { readings: unknown[] }).readings.length
        if (++baseMessages >= payloads.length) doneBase?.()
      }
    })
    await sub.subscribeAsync([`muni/v1/${SITE}/${GW}/telemetry`, 'bench/baseline'], { qos: 1 })

    const until = (what: string, set: (f: () => void) => void): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${what}: not done within ${timeoutS} s`)), timeoutS * 1000)
        set(() => {
          clearTimeout(t)
          resolve()
        })
      })

    // Ours: the Uplink with the agent's batch settings, draining the backlog.
    const oursDone = until('uplink drain', (f) => (doneOurs = f))
    const t0 = performance.now()
    uplink = new Uplink({
      site: SITE,
      gateway: GW,
      broker: { url: broker.url, clientId: 'muni-edge-gw-bench', keepaliveS: 60 },
      outbox,
      birth: () => ({ gateway: GW, site: SITE, agent: { name: 'muni-edge', version: 'bench' }, devices: [] }),
      sessionStore: new MemorySessionStore(),
      batch: { maxReadings: 500, maxBytes: 128 * 1024, maxDelayMs: 1_000 },
      onCommand: async (req) => ({ id: req.id, ts: Date.now(), ok: true }),
      maxInFlight: WINDOW,
      logger: { info: () => {}, warn: (m) => out(`    uplink warn: ${m}`), error: (m) => out(`    uplink error: ${m}`) },
    })
    uplink.start()
    let oursMs = NaN
    let oursErr = ''
    try {
      await oursDone
      oursMs = performance.now() - t0
    } catch (err) {
      oursErr = (err as Error).message
    }
    const batches = payloads.length
    const bytes = payloads.reduce((s, p) => s + p.length, 0)
    await uplink.stop()
    uplink = undefined

    // Baseline: raw mqtt.js, the same payload bytes, QoS 1, WINDOW in flight.
    const pub = mqtt.connect(broker.url, { reconnectPeriod: 0, clientId: 'bench-raw' })
    clients.push(pub)
    pub.on('error', () => {})
    await new Promise<void>((r, j) => {
      pub.once('connect', () => r())
      pub.once('error', j)
    })
    ;(pub.stream as Socket).setNoDelay?.(true)
    const baseDone = until('raw mqtt.js', (f) => (doneBase = f))
    const t1 = performance.now()
    let next = 0
    let inFlight = 0
    const pump = (): void => {
      while (inFlight < WINDOW && next < batches) {
        inFlight++
        pub.publish('bench/baseline', payloads[next++]!, { qos: 1 }, () => {
          inFlight--
          pump()
        })
      }
    }
    pump()
    let baseMs = NaN
    let baseErr = ''
    try {
      await baseDone
      baseMs = performance.now() - t1
    } catch (err) {
      baseErr = (err as Error).message
    }

    out(`\n(5) backlog drain: ${total.toLocaleString('en')} readings appended (${appendS.toFixed(1)} s, ${CHUNK} per append) while the uplink was down, then drained to in-process Aedes; subscriber counts readings; in-flight window ${WINDOW}`)
    out(
      renderTable(
        ['publisher', 'batches', 'MB', 'seconds', 'readings/s', 'vs goal 20 s'],
        [
          ['Uplink + Outbox (ours, incl. connect + birth)', String(batches), (bytes / 1e6).toFixed(1), oursErr ? oursErr : (oursMs / 1000).toFixed(2), ((total / oursMs) * 1000).toFixed(0), oursErr ? '-' : `${((oursMs / 1000) / 20).toFixed(2)} of budget`],
          ['raw mqtt.js, same payloads (ceiling)', String(batches), (bytes / 1e6).toFixed(1), baseErr ? baseErr : (baseMs / 1000).toFixed(2), ((total / baseMs) * 1000).toFixed(0), ''],
        ],
      ),
    )
    out(`    ours / ceiling time: ${x(oursMs, baseMs)}; readings received by the subscriber: ours ${oursReadings}/${total}, baseline ${baseReadings}/${total}`)
  } finally {
    if (uplink) await uplink.stop()
    for (const c of clients) await new Promise<void>((r) => c.end(true, () => r()))
    outbox.close()
    await broker.close()
    removeTemp(dir)
  }
}

// ---------------------------------------------------------------- entry

export default async function edge(args: string[]): Promise<void> {
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`)
    return i >= 0 ? args[i + 1] : undefined
  }
  const num = (name: string, fallback: number): number => {
    const v = Number(opt(name) ?? fallback)
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`)
    return v
  }
  const only = opt('only')
  const known = ['plan', 'tcp', 'rtu', 'agent', 'drain']
  if (only !== undefined && !known.includes(only)) throw new Error(`--only takes one of ${known.join(', ')}`)
  const seconds = num('seconds', 5)
  const agentSeconds = num('agent-seconds', 25)
  const readings = num('readings', 360_000)
  const on = (n: string): boolean => only === undefined || only === n
  out(`bench edge: node ${process.version}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  const d = loadDistrict()
  const t0 = performance.now()
  if (on('plan')) benchPlan(d)
  if (on('tcp')) await benchTcp(d, seconds)
  if (on('rtu')) {
    try {
      await benchRtu(d, seconds)
    } catch (err) {
      out(`\n(3) not run: ${(err as Error).message} (needs socat, Debian package socat)`)
    }
  }
  if (on('agent')) await benchAgent(d, 5, agentSeconds)
  if (on('drain')) await benchDrain(Math.floor(readings), 120)
  out(`\ntotal ${((performance.now() - t0) / 1000).toFixed(0)} s; load average now ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
}
