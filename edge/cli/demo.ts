/**
 * `muni demo` — what `npm start` runs: the whole data path of the sample district on
 * one machine, each part in its own process, as a deployment runs them:
 *
 *   muni sim         → the 35 simulated Modbus devices of simulators/districts/sample.yaml,
 *                      live (speed 1), except the devices the storm scenario plays on: it
 *                      plays there at --speed (60×) from --scenario-from (0:42:00, 18
 *                      simulated minutes before its rain) — the underpass starts filling
 *                      about 20 s after start, ~12 s after readings flow, and floods ~20 s later
 *   muni cloud run --init → a deployment folder (broker credentials per gateway, an admin
 *                      token, alarms.rules naming the demo's rules file), then the cloud; the
 *                      scenario's rules are written once the sim lists its devices, and
 *                      reloaded with SIGHUP (see demo-rules.ts)
 *   muni cloud run   → embedded Aedes broker, ingest, SQLite storage, registry, alarms, HTTP API
 *   muni edge run    → one edge agent per gateway, its config written from the sim's endpoints
 *
 * It waits until the API serves readings, prints the API URL, a token and how to watch the
 * alarms, and stops everything cleanly on Ctrl-C (or after --duration). The parts are
 * started through the `muni` command, never imported: this file knows the other sides only
 * by their CLIs. Child output goes to `<data>/logs/*.log`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { Command } from 'commander'
import { stringify } from 'yaml'
import { parseDistrict } from '../../shared/district/parse.ts'
import type { District } from '../../shared/district/schema.ts'
import { parseProfile } from '../../shared/profile/parse.ts'
import type { Profile } from '../../shared/profile/schema.ts'
import { demoRules } from './demo-rules.ts'
import { PACKAGE_ROOT } from './main.ts'

const DISTRICT = join(PACKAGE_ROOT, 'simulators', 'districts', 'sample.yaml')
const MUNI = join(PACKAGE_ROOT, 'edge', 'cli', 'muni.mjs')
const PROFILES = process.env.MUNI_PROFILES_DIR ?? join(PACKAGE_ROOT, 'firmware-profiles')
/** The storm's speed: the underpass fills to its HI level in about 20 s of rain, the trend rule's 15 min window is 15 s. */
export const DEFAULT_SCENARIO_SPEED = 60
/**
 * Where a scenario starts, in its simulated time (seconds or H:MM:SS, as `muni sim
 * --scenario-from` takes it), unless --scenario-from says: 0 for a scenario not listed.
 *
 * storm: its first hour is dry (storm.yaml), and at 60× that is a minute of nothing.
 * 0:42:00 starts it 18 simulated minutes before the rain: 18 s of wall time at the
 * default speed, where the readings flow 5–7 s after the sim starts (demo.e2e.test.ts
 * on a loaded 2-core machine), so the rain comes ~12 s after the demo is ready. The rain
 * (27.3 mm/h) then fills wl-gqm-01's sump — 100 m³ at 0.085 m³/s net of the pump,
 * simulators/models/water-level.ts — to the road and its 2.5 m HI level in ~20 s. Not
 * later: the trend rule wants ≥ 6 rising readings in its window before the crossing
 * (demo-rules.ts), and the SSE client of the e2e test connects once the demo is ready,
 * so the rise must start after the edges poll and the demo is ready; earlier only adds
 * dry seconds.
 */
export const DEFAULT_SCENARIO_FROM: Readonly<Record<string, string>> = { storm: '0:42:00' }

export interface DemoOptions {
  data?: string
  duration?: number
  apiPort?: number
  mqttPort?: number
  pollMs: number
  /** A scenario to play on the devices it targets; false: the district only, live. */
  scenario: string | false
  speed: number
  /** The scenario's simulated time at start (default: `DEFAULT_SCENARIO_FROM`, else 0). */
  scenarioFrom?: string
  json?: boolean
}

export function command(): Command {
  return new Command('demo')
    .description('the main job on embedded defaults (npm start): the sample district simulated, one edge agent per gateway, and the cloud with its API')
    .option('--data <dir>', 'keep everything in this folder (default: a new temporary folder)')
    .option('--duration <s>', 'stop after S seconds (default: run until Ctrl-C)', Number)
    .option('--api-port <n>', 'API port (default: a free port)', Number)
    .option('--mqtt-port <n>', 'MQTT port (default: a free port)', Number)
    .option('--poll-ms <n>', 'poll interval of every device, ms', Number, 2000)
    .option('--scenario <name>', 'a simulator scenario to play on the devices it targets, the rest of the district live: storm, pipe-burst, cover-theft, sensor-faults', 'storm')
    .option('--no-scenario', 'the district only, live: no scenario')
    .option('--speed <n>', 'simulated seconds per second for the scenario', Number, DEFAULT_SCENARIO_SPEED)
    .option(
      '--scenario-from <time>',
      `start the scenario part-way, at this simulated time: seconds or H:MM:SS (default: ${Object.entries(DEFAULT_SCENARIO_FROM)
        .map(([k, v]) => `${v} for ${k}`)
        .join(', ')} — 18 simulated minutes before its rain: at the default speed the underpass starts filling ~12 s after readings flow; 0 for the others)`,
    )
    .option('--json', 'print one JSON line with the endpoints and token once readings flow')
    .action(async (opts: DemoOptions) => {
      process.exitCode = await runDemo(opts)
    })
}

interface Part {
  name: string
  child: ChildProcess
  exited: Promise<number | null>
}

interface SimDevice {
  device: string
  gateway: string
  bus: string
  profile: string
  unit: number
  transport: 'tcp' | 'rtu'
  host?: string
  port?: number
  path?: string
  baud?: number
  parity?: string
  stopBits?: number
  /** Set by `muni sim --scenario-speed` on the devices that play the scenario. */
  scenarioSpeed?: number
}

export async function runDemo(o: DemoOptions): Promise<number> {
  const started = Date.now()
  const say = (s: string): void => void (o.json ? process.stderr : process.stdout).write(`${s}\n`)
  const district = readDistrict()
  const temporary = o.data === undefined
  const dir = resolve(o.data ?? mkdtempSync(join(tmpdir(), 'muni-demo-')))
  mkdirSync(join(dir, 'logs'), { recursive: true })
  mkdirSync(join(dir, 'edge'), { recursive: true })
  const parts: Part[] = []
  let stopping = false
  const stopAll = async (): Promise<void> => {
    stopping = true
    // Edges first (their Last Will must not fire: they say offline themselves), then the sim, then the cloud.
    for (const group of [parts.filter((p) => p.name.startsWith('edge')), parts.filter((p) => p.name === 'sim'), parts.filter((p) => p.name === 'cloud')]) {
      for (const p of group) if (p.child.exitCode === null) p.child.kill('SIGTERM')
      await Promise.all(
        group.map(async (p) => {
          const killer = setTimeout(() => p.child.kill('SIGKILL'), 8000)
          await p.exited
          clearTimeout(killer)
        }),
      )
    }
  }
  const onSignal = (): void => {
    if (stopping) process.exit(1)
    say('\nstopping…')
    void stopAll()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const [apiPort, mqttPort] = [o.apiPort ?? (await freePort()), o.mqttPort ?? (await freePort())]
    say(`muni-iot demo: ${district.district.name}, ${district.gateways.length} gateways, ${district.devices.length} devices; data in ${dir}`)

    // The simulators and the cloud start at once; the edges once the simulators serve and the
    // cloud's set-up has made their credentials; the scenario's rules once both are ready.
    const from = o.scenario === false ? undefined : (o.scenarioFrom ?? DEFAULT_SCENARIO_FROM[o.scenario])
    const scenarioArgs = o.scenario === false ? [] : ['--scenario', o.scenario, '--scenario-speed', String(o.speed), ...(from === undefined ? [] : ['--scenario-from', from])]
    const sim = start('sim', ['sim', '--district', DISTRICT, '--free-ports', ...scenarioArgs], dir, parts)
    const devicesReady = lines(sim, district.devices.length)
    devicesReady.catch(() => undefined) // awaited below; a failure before that must not be an unhandled rejection
    const gatewayArgs = district.gateways.flatMap((g) => ['--gateway', `${g.site}/${g.id}`])
    const portArgs = ['--api-port', String(apiPort), '--mqtt-port', String(mqttPort)]
    const cloudDir = join(dir, 'cloud')
    const rulesFile = join(cloudDir, 'demo-rules.yaml')
    // One cloud process sets itself up and runs. Its rules file starts empty (the profiles'
    // defaults); once the simulator has listed the devices the scenario plays on, the demo
    // writes their rules and the cloud reloads them on SIGHUP — nothing waits for the other.
    mkdirSync(cloudDir, { recursive: true })
    writeFileSync(rulesFile, '# muni demo: the scenario\'s rules are written here once the simulator has started\noverrides: []\n')
    const cloud = start('cloud', ['cloud', 'run', '--init', cloudDir, ...gatewayArgs, '--rules', basename(rulesFile), ...portArgs, '--ready-json'], dir, parts)
    const setupLine = firstLine(cloud, (l) => l.startsWith('{"event":"init"'))
    const cloudReady = firstLine(cloud, (l) => l.startsWith('{"event":"ready"'))
    cloudReady.catch(() => undefined) // awaited below
    const setup = JSON.parse(await setupLine) as { token: string; passwords: Record<string, string> }
    const simDevices = (await devicesReady).map((l) => JSON.parse(l) as SimDevice)
    const played = simDevices.filter((d) => d.scenarioSpeed !== undefined)
    const rules = o.scenario === false ? undefined : demoRules(played, o.speed, readProfiles(played.map((d) => d.profile)), o.scenario)
    // The edges start while the cloud is still starting: an agent that finds no broker yet
    // keeps polling into its outbox and connects on its next retry.
    const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`
    for (const g of district.gateways) {
      const file = join(dir, 'edge', `${g.id}.yaml`)
      writeFileSync(file, gatewayConfig(district, g.id, simDevices, mqttUrl, join(dir, 'edge', `${g.id}-buffer.sqlite`), o.pollMs))
      start(`edge-${g.id}`, ['edge', 'run', '--config', file], dir, parts, { MUNI_BROKER_PASSWORD: setup.passwords[g.id] ?? '' })
    }
    const endpoints = JSON.parse(await cloudReady) as { api: string; mqtt: string }
    if (rules) {
      // After "ready": the cloud's SIGHUP handler is installed by then.
      writeFileSync(rulesFile, rules.text)
      cloud.child.kill('SIGHUP')
    }

    const first = await firstReadings(endpoints.api, setup.token, () => stopping || parts.some((p) => p.child.exitCode !== null))
    const secs = ((Date.now() - started) / 1000).toFixed(1)
    const alarmsUrl = `${endpoints.api}/api/v1/alarms`
    const streamUrl = `${endpoints.api}/api/v1/stream`
    const scenario =
      o.scenario === false ? undefined : { name: o.scenario, speed: o.speed, from: from ?? '0', devices: played.map((d) => d.device), ...(rules ? { rules: rulesFile } : {}) }
    if (o.json) {
      const ready = { event: 'ready', api: endpoints.api, mqtt: endpoints.mqtt, token: setup.token, dir, seconds: Number(secs), devicesWithReadings: first, alarms: alarmsUrl, stream: streamUrl, ...(scenario ? { scenario } : {}) }
      process.stdout.write(`${JSON.stringify(ready)}\n`)
    }
    say('')
    say(`readings flow: ${first} device(s) reported within ${secs} s of start`)
    say(`  API      ${endpoints.api}`)
    say(`  docs     ${endpoints.api}/docs?access_token=${setup.token}   (Swagger UI; the token then rides in a cookie)`)
    say(`  token    ${setup.token}   (admin; stored hashed in ${join(dir, 'cloud', 'data', 'tokens.sqlite')})`)
    say(`  MQTT     ${endpoints.mqtt}   (per-gateway credentials in ${join(dir, 'cloud', 'credentials.yaml')})`)
    say(`  try      curl -H 'Authorization: Bearer ${setup.token}' ${endpoints.api}/api/v1/devices`)
    if (scenario) {
      say(`  scenario ${scenario.name} from ${scenario.from} at ${scenario.speed}× on ${played.length} device(s) (${scenario.devices.join(', ')}); the rest of the district runs live`)
      if (rules) {
        say(`  rules    ${rulesFile}   (DEMO SETTING: on ${rules.devices.join(', ')} the profiles' trend and rate windows are divided by ${scenario.speed}, as the scenario's time is; thresholds unchanged)`)
        if (o.pollMs * 6 > (900 / o.speed) * 1000) say(`  warning  --poll-ms ${o.pollMs} gives the trend rule fewer than 6 readings in its ${900 / o.speed} s window: no predictive alarm; lower --poll-ms or --speed`)
      }
    }
    say(`  alarms   curl -H 'Authorization: Bearer ${setup.token}' ${alarmsUrl}`)
    say(`  live     curl -N '${streamUrl}?access_token=${setup.token}'   (Server-Sent Events: alarms as they are raised, updated and cleared)`)
    say(`  logs     ${join(dir, 'logs')}${temporary ? '   (a temporary folder, removed at exit; --data DIR keeps it)' : ''}`)
    say('Ctrl-C stops everything.')
    const ended = Promise.race(parts.map((p) => p.exited.then(() => p.name)))
    let durationTimer: NodeJS.Timeout | undefined
    const outcome = await Promise.race([ended, new Promise<string>((resolve) => o.duration !== undefined && (durationTimer = setTimeout(() => resolve('duration'), o.duration * 1000)))])
    clearTimeout(durationTimer)
    if (!stopping && outcome !== 'duration') say(`${outcome} stopped unexpectedly (see ${join(dir, 'logs', `${outcome}.log`)}); stopping the rest`)
    const unexpected = !stopping && outcome !== 'duration'
    await stopAll()
    return unexpected ? 1 : 0
  } catch (e) {
    process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`)
    await stopAll()
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    // A folder the demo made for itself goes with it; one given with --data stays.
    if (temporary) rmSync(dir, { recursive: true, force: true })
  }
}

/** The profiles with these ids, from the profiles folder (a profile's file is named by its id). */
function readProfiles(ids: readonly string[]): Map<string, Profile> {
  const wanted = new Set(ids)
  const out = new Map<string, Profile>()
  for (const f of readdirSync(PROFILES, { recursive: true, encoding: 'utf8' })) {
    const id = basename(f).replace(/\.ya?ml$/i, '')
    if (!wanted.has(id) || id === basename(f)) continue
    const r = parseProfile(readFileSync(join(PROFILES, f), 'utf8'), f)
    if (r.ok) out.set(r.profile.id, r.profile)
  }
  return out
}


function readDistrict(): District {
  const r = parseDistrict(readFileSync(DISTRICT, 'utf8'), DISTRICT)
  if (!r.district) throw new Error(`${DISTRICT} has problems; run muni sim --district ${DISTRICT}`)
  return r.district
}

/** A gateway config for one gateway of the district, its buses at the simulator's endpoints. */
export function gatewayConfig(d: District, gatewayId: string, sim: readonly SimDevice[], mqttUrl: string, buffer: string, pollMs: number): string {
  const g = d.gateways.find((x) => x.id === gatewayId)
  if (g === undefined) throw new Error(`no gateway ${gatewayId} in the district`)
  const mine = sim.filter((s) => s.gateway === gatewayId)
  const buses = new Map<string, Record<string, unknown>>()
  for (const s of mine) {
    if (buses.has(s.bus)) continue
    buses.set(
      s.bus,
      s.transport === 'tcp'
        ? { id: s.bus, type: 'tcp', host: s.host, port: s.port, concurrency: 1 }
        : { id: s.bus, type: 'rtu', path: s.path, baud: s.baud, parity: s.parity, stopBits: s.stopBits },
    )
  }
  const devices = mine.map((s) => {
    const dev = d.devices.find((x) => x.id === s.device)
    return {
      id: s.device,
      bus: s.bus,
      unit: s.unit,
      profile: s.profile,
      pollMs,
      ...(dev?.location ? { location: dev.location } : {}),
      ...(dev?.asset ? { asset: dev.asset } : {}),
    }
  })
  const config = {
    gateway: g.id,
    site: g.site,
    // reconnectMaxS 1: the agents start before the broker listens; they retry every second, not with backoff to a minute.
    broker: { url: mqttUrl, username: g.id, passwordEnv: 'MUNI_BROKER_PASSWORD', reconnectMaxS: 1 },
    buffer: { path: buffer },
    buses: [...buses.values()],
    devices,
  }
  return `# Written by muni demo for ${g.name ?? g.id}\n${stringify(config)}`
}

/**
 * V8 flags of the cloud process: a 32 MB semi-space (young generation) instead of V8's
 * 16 MB. Ingest allocates a short-lived object per reading; with the larger nursery fewer
 * of them are copied before they die (`npm run bench -- ingest`: ~10 % less CPU per reading).
 * Read by V8 only at process start, hence on the command line (cloud/README.md).
 */
export const CLOUD_V8_FLAGS = ['--max-semi-space-size=32']

function start(name: string, args: string[], dir: string, parts: Part[], env: Record<string, string> = {}): Part {
  // stderr goes straight to the part's log file, not through this process, so a part can
  // still log (and stop cleanly) after the demo is gone. stdin is a pipe the part watches
  // (MUNI_STOP_WITH_PARENT, muni.mjs): if this process dies, even by SIGKILL, the pipe
  // closes and every part stops itself.
  const log = openSync(join(dir, 'logs', `${name}.log`), 'a')
  const child = spawn(process.execPath, [...(name === 'cloud' ? CLOUD_V8_FLAGS : []), MUNI, ...args], { cwd: dir, env: { ...process.env, ...env, MUNI_STOP_WITH_PARENT: '1' }, stdio: ['pipe', 'pipe', log] })
  closeSync(log)
  // After its start-up lines a part prints nothing on stdout; an EPIPE there must not kill it.
  child.stdout?.on('error', () => undefined)
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const part = { name, child, exited }
  parts.push(part)
  return part
}

/** The first stdout line that matches; rejects if the part exits first. */
function firstLine(p: Part, match: (l: string) => boolean): Promise<string> {
  return lines(p, 1, match).then((l) => l[0] as string)
}

/** The first `n` matching stdout lines; rejects if the part exits first or 60 s pass. */
function lines(p: Part, n: number, match: (l: string) => boolean = (l) => l.startsWith('{')): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const got: string[] = []
    const rl = createInterface({ input: p.child.stdout! })
    const timer = setTimeout(() => reject(new Error(`${p.name} did not start within 60 s`)), 60_000)
    rl.on('line', (l) => {
      if (!match(l) || got.length >= n) return
      got.push(l)
      if (got.length === n) {
        clearTimeout(timer)
        resolve(got)
      }
    })
    void p.exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`${p.name} exited (code ${code}) before it was ready`))
    })
  })
}

/** Polls the API until at least one device has a reading; returns how many have. */
async function firstReadings(api: string, token: string, abort: () => boolean): Promise<number> {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (abort()) throw new Error('a part stopped before readings arrived')
    try {
      const r = await fetch(`${api}/api/v1/devices`, { headers: { authorization: `Bearer ${token}` } })
      if (r.ok) {
        const body = (await r.json()) as { devices?: Array<{ lastSeen?: number }> } | Array<{ lastSeen?: number }>
        const list = Array.isArray(body) ? body : (body.devices ?? [])
        const n = list.filter((d) => d.lastSeen !== undefined).length
        if (n > 0) return n
      }
    } catch {
      // not listening yet
    }
    await sleep(250)
  }
  throw new Error('no readings reached the API within 60 s')
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0))
    })
  })
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
