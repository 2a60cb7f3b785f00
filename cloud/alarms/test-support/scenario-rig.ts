/**
 * One end-to-end rig for the scenario tests (`scenarios.e2e.test.ts`): the simulators'
 * runner in process (the sample district's models and a shipped scenario, or a
 * recording), a real `muni edge run` child polling it over Modbus TCP, and a real `Cloud`
 * in process (embedded Aedes on 127.0.0.1, SQLite, the alarm engine) with the shipped
 * profiles' hints plus a rules file. Tests wire the sides together; production code never
 * does (shared/boundaries.test.ts).
 *
 * The district's RS-485 lines are served as Modbus TCP (as behind an RS-485-to-TCP
 * converter), so no socat is needed; the devices, models and scenario are the sample's.
 *
 * Simulated time: the runner's clock is held at t = 0 until every polled device has a
 * reading in the cloud, then runs at `speed` simulated seconds per wall second. So
 * `simS(ts)` turns an edge sample time (wall clock ms) into simulated seconds exactly.
 *
 * The edge reads a per-rig copy of the shipped profiles whose `stuck.afterS` are divided by
 * the speed (`acceleratedProfiles`), as the rules' time fields are (`acceleratedHints`).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative } from 'node:path'
import { isMap, isSeq, parseDocument, stringify } from 'yaml'
import type { Fault } from '../../../simulators/device/faults.ts'
import type { FaultParams } from '../../../simulators/scenarios/scenario.ts'
import { loadDistrictFile, SAMPLE_DISTRICT_FILE } from '../../../simulators/districts/load.ts'
import { loadProfileLibrary } from '../../../simulators/runner/load.ts'
import { planDistrict, planProfile, type SimPlan } from '../../../simulators/runner/plan.ts'
import { Runner, type Endpoint } from '../../../simulators/runner/runner.ts'
import { loadScenarioFile } from '../../../simulators/scenarios/load.ts'
import { targetDevices } from '../../../simulators/scenarios/timeline.ts'
import { scenarioFileFor } from '../../../simulators/runner/load.ts'
import { freePort } from '../../../simulators/test-support/broker.ts'
import { MuniProcesses, type MuniProcess } from '../../../simulators/test-support/muni-process.ts'
import { runAgent } from '../../../edge/agent/test-support/e2e.ts'
import type { LiveEvent } from '../feed.ts'
import type { Alarm, AlarmStatus } from '../lifecycle.ts'
import { Cloud } from '../../service.ts'
import { readProfiles } from '../load.ts'
import { profileRules, type Rule } from '../rules.ts'

const library = loadProfileLibrary()
const profiles = readProfiles().profiles

export interface RigOptions {
  name: string
  site: string
  gateway: string
  /** Simulated seconds per wall second. */
  speed: number
  /** A shipped scenario (sample district), or … */
  scenario?: string
  /** … a recording served by one hydrolux-rl80@2.3 gauge, device `unit-1`. */
  replay?: string
  /** District device ids the edge polls (with `scenario`). */
  devices: string[]
  pollMs: number
  /** Edge heartbeat per device, s (default 1). */
  heartbeatS?: number
  /** Rules file text (layers 2–5). */
  rules?: string
  faults?: Array<{ device?: string; fault: Fault }>
  /**
   * `stuck.afterS` in simulated seconds by profile id and point, replacing the shipped
   * value before the speed scaling (`acceleratedProfiles`): for a scenario whose frozen
   * sensor is frozen for less time than the shipped limit.
   */
  stuckAfterS?: Record<string, Record<string, number>>
}

export interface Rig {
  cloud: Cloud
  events: LiveEvent[]
  edge: MuniProcess
  runner: Runner
  /** Wall-clock ms at simulated t = 0. */
  t0: number
  speed: number
  simS(ts: number): number
  /** Wall-clock ms of simulated second `s`. */
  wallOf(s: number): number
  /** Alarm transitions from the live feed, in log order. */
  transitions(f?: { rule?: string; device?: string; announced?: boolean }): Array<{ to: AlarmStatus; type: string; at: number; alarm: Alarm; announce: boolean }>
  readings(device: string, point: string): Promise<Array<{ ts: number; v: unknown; error?: string }>>
  /**
   * At simulated second `s`, applies `params` to `device` as a scenario `fault` event
   * would (the same `applyScenarioFault`): for faults the shipped scenario does not play.
   */
  faultAt(s: number, device: string, params: FaultParams): void
  /** Resolves once the simulation has reached simulated second `s` and a later reading of every device is in. */
  untilSim(s: number, timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

/** The wait used throughout: polls `f` every 20 ms. */
export async function until(what: string | (() => string), f: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

function samplePlan(): { plan: SimPlan; district: NonNullable<ReturnType<typeof loadDistrictFile>['district']> } {
  const d = loadDistrictFile(SAMPLE_DISTRICT_FILE, { profiles: library.profiles })
  if (!d.district) throw new Error(`sample district: ${JSON.stringify(d.issues)}`)
  const plan = planDistrict(d.district, library.profiles)
  // Every bus as Modbus TCP on a free loopback port (an RS-485-to-TCP converter): no socat.
  return { district: d.district, plan: { ...plan, buses: plan.buses.map((b) => ({ ...b, transport: { type: 'tcp' as const, host: '127.0.0.1', port: 0 } })) } }
}

/**
 * The profile's hint rules with their time fields divided by `speed`: the same rule on
 * an accelerated clock. Rule windows are in the readings' time (edge sample time = wall
 * clock), so at speed N a 60 s window would otherwise cover 60·N simulated seconds.
 * Stale is left alone: it follows the edge's heartbeat, which is wall time.
 */
export function acceleratedHints(profileId: string, speed: number, change: (r: Rule) => Rule = (r) => r): Rule[] {
  const p = profiles.find((x) => x.id === profileId)
  if (!p) throw new Error(`no profile ${profileId}`)
  const scaled: Rule[] = []
  for (const r0 of profileRules(p)) {
    const r = change(r0) as Rule & Record<string, unknown>
    if (r.kind === 'stale') continue
    const out: Record<string, unknown> = { ...r }
    let timed = false
    for (const k of ['windowS', 'horizonS', 'clearHorizonS', 'etaToleranceS', 'onDelayS', 'offDelayS', 'forS']) {
      if (typeof r[k] === 'number') {
        out[k] = (r[k] as number) / speed
        timed = true
      }
    }
    // Only the rules with a time in them are replaced; the others stay the profile's.
    if (timed) scaled.push(out as unknown as Rule)
  }
  return scaled
}

/** The profile id of a sample-district device. */
export function profileOf(device: string): string {
  const d = samplePlan().plan.devices.find((x) => x.id === device)
  return d?.profile.id ?? fail(`no device ${device} in the sample district`)
}

/** A rules file of per-device overrides (layer 5). */
export function rulesFile(overrides: Array<{ device: string; rules: Rule[] }>): string {
  return stringify({ overrides: overrides.filter((o) => o.rules.length > 0).map((o) => ({ match: { device: o.device }, rules: o.rules })) })
}

const SHIPPED_PROFILES = join(dirname(new URL(import.meta.url).pathname), '../../../firmware-profiles')

/**
 * A copy of the shipped profiles under `dir` (same `{kind}/{id}.yaml` layout) with every
 * point's `stuck.afterS` divided by `speed`, after `override` (simulated seconds). The
 * edge's stuck timer runs on sample time (wall clock), like the rules' windows, so at
 * speed N a 3600 s limit would otherwise cover 3600·N simulated seconds. Returns the folder.
 */
export function acceleratedProfiles(dir: string, speed: number, override: RigOptions['stuckAfterS'] = {}): string {
  const out = join(dir, 'profiles')
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile() && /\.ya?ml$/.test(e.name)) {
        const doc = parseDocument(readFileSync(p, 'utf8'))
        const id = basename(e.name).replace(/\.ya?ml$/, '')
        const points = doc.get('points')
        if (isSeq(points)) {
          for (const pt of points.items) {
            if (!isMap(pt)) continue
            const name = String(pt.get('name'))
            const afterS = override[id]?.[name] ?? (pt.getIn(['stuck', 'afterS']) as number | undefined)
            if (afterS !== undefined) pt.setIn(['stuck', 'afterS'], afterS / speed)
          }
        }
        const target = join(out, relative(SHIPPED_PROFILES, p))
        mkdirSync(dirname(target), { recursive: true })
        writeFileSync(target, doc.toString())
      }
    }
  }
  walk(SHIPPED_PROFILES)
  return out
}

function edgeConfig(o: RigOptions, dir: string, mqtt: string, endpoints: Endpoint[]): string {
  const mine = o.replay !== undefined ? endpoints : o.devices.map((id) => endpoints.find((e) => e.device === id) ?? fail(`no simulated device ${id}`))
  const buses = new Map<string, Record<string, unknown>>()
  for (const e of mine) {
    if (e.transport !== 'tcp') throw new Error('tcp only')
    buses.set(`${e.gateway}-${e.bus}`, { id: `${e.gateway}-${e.bus}`, type: 'tcp', host: e.host, port: e.port, concurrency: 1 })
  }
  return stringify({
    gateway: o.gateway,
    site: o.site,
    broker: { url: mqtt, reconnectMaxS: 1 },
    profilesDir: acceleratedProfiles(dir, o.speed, o.stuckAfterS),
    buffer: { path: join(dir, 'buffer.sqlite') },
    http: { port: 0 },
    defaults: { timeoutMs: 500, retries: 1, backoff: { initialMs: 100, maxMs: 500 } },
    buses: [...buses.values()],
    devices: mine.map((e) => ({
      id: e.device,
      bus: `${e.gateway}-${e.bus}`,
      unit: e.unit,
      profile: e.profile,
      pollMs: o.pollMs,
      // 1 s: report-by-exception then still sends every second, so the rig sees time pass.
      heartbeatS: o.heartbeatS ?? 1,
    })),
  })
}

const fail = (m: string): never => {
  throw new Error(m)
}

export async function startRig(o: RigOptions, procs: MuniProcesses): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), `muni-scenario-${o.name}-`))
  const stops: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })]
  const stop = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) {
      try {
        await s()
      } catch {
        // best effort: the next step still runs
      }
    }
  }
  try {
    let rulesPath: string | undefined
    if (o.rules !== undefined) writeFileSync((rulesPath = join(dir, 'rules.yaml')), o.rules)
    const lines: string[] = []
    const cloud = new Cloud(
      {
        dataDir: join(dir, 'cloud'),
        broker: { mode: 'embedded', host: '127.0.0.1', port: 0, allowAnonymous: true },
        storage: { kind: 'sqlite', path: join(dir, 'cloud', 'telemetry.sqlite') },
        api: { host: '127.0.0.1', port: 0 },
        ingest: { batchReadings: 5000, maxPendingReadings: 50_000, maxFutureMs: 600_000 },
        alarms: { enabled: true, tickMs: 50, webhooks: [], ...(rulesPath ? { rulesFile: rulesPath } : {}) },
      },
      { log: (l) => lines.push(l) },
    )
    stops.push(() => cloud.stop())
    const endpoints = await cloud.start()
    const events: LiveEvent[] = []
    cloud.live.subscribe((e) => void events.push(e))

    // The simulation's clock is held at 0 until the edge reads every device.
    let released: number | undefined
    const clock = (): number => (released === undefined ? 0 : performance.now() - released)
    let plan: SimPlan
    let scenario
    if (o.replay !== undefined) {
      const p = library.profiles.get('hydrolux-rl80@2.3') ?? fail('no hydrolux profile')
      plan = planProfile(p, [1], { type: 'tcp', host: '127.0.0.1', port: await freePort() })
    } else {
      const s = samplePlan()
      plan = s.plan
      if (o.scenario !== undefined) {
        const file = scenarioFileFor(o.scenario) ?? fail(`no scenario ${o.scenario}`)
        const r = loadScenarioFile(file, { devices: targetDevices(s.district) })
        scenario = r.scenario ?? fail(`${file}: ${JSON.stringify(r.issues)}`)
      }
    }
    const runner = new Runner({
      plan,
      speed: o.speed,
      tickMs: 20,
      ...(scenario ? { scenario } : {}),
      ...(o.replay !== undefined ? { replay: o.replay } : { clock }),
      ...(o.faults ? { faults: o.faults } : {}),
      onProblem: (p) => lines.push(`sim: ${JSON.stringify(p)}`),
    })
    const simEndpoints = await runner.start()
    stops.push(() => runner.stop())

    const config = join(dir, 'gateway.yaml')
    writeFileSync(config, edgeConfig(o, dir, endpoints.mqtt ?? fail('no mqtt'), simEndpoints))
    const { proc: edge } = await runAgent(procs, config)
    stops.push(() => edge.stop(2000).then(() => undefined))
    const polled = o.replay !== undefined ? ['unit-1'] : o.devices
    await until(
      () => `first readings of ${polled.join(', ')}; edge stderr: ${edge.stderr().slice(-800)}`,
      () => polled.every((d) => cloud.registry.device(o.gateway, d)?.lastSeen !== undefined),
      20_000,
    )
    // Sim time 0 is now (the replay's clock started with the runner; its test does not use t0).
    const t0 = Date.now()
    released = performance.now()

    const timers: NodeJS.Timeout[] = []
    stops.push(() => timers.forEach((t) => clearTimeout(t)))
    const rig: Rig = {
      cloud,
      events,
      edge,
      runner,
      t0,
      speed: o.speed,
      simS: (ts) => ((ts - t0) / 1000) * o.speed,
      wallOf: (s) => t0 + (s / o.speed) * 1000,
      transitions: (f = {}) =>
        events.flatMap((e) =>
          e.type === 'alarm' &&
          (f.rule === undefined || e.alarm.rule === f.rule) &&
          (f.device === undefined || e.alarm.device === f.device) &&
          (f.announced === undefined || e.transition.announce === f.announced)
            ? [{ to: e.transition.to, type: e.transition.action.type, at: e.transition.action.at, alarm: e.alarm, announce: e.transition.announce }]
            : [],
        ),
      readings: async (device, point) => {
        const r = await cloud.store.query({ gateway: o.gateway, device, points: [point], from: t0 - 60_000, to: Date.now() + 60_000, limit: 10_000 })
        return r.rows.map((row) => ({ ts: row.ts, v: row.values[point], ...(row.errors?.[point] ? { error: row.errors[point] } : {}) }))
      },
      faultAt: (s, device, params) => {
        const entity = runner.simulation.entities.get(device) ?? fail(`no simulated device ${device}`)
        timers.push(setTimeout(() => entity.applyScenarioFault(params), Math.max(0, rig.wallOf(s) - Date.now())))
      },
      untilSim: async (s, timeoutMs) => {
        const wall = rig.wallOf(s)
        await until(
          () => `simulated ${s} s (now ${Math.round(runner.clockS)} s); edge stderr: ${edge.stderr().slice(-500)}`,
          () => polled.every((d) => (cloud.registry.device(o.gateway, d)?.lastSeen ?? 0) > wall),
          timeoutMs ?? Math.max(15_000, wall - Date.now() + 15_000),
        )
      },
      stop,
    }
    return rig
  } catch (e) {
    await stop()
    throw e
  }
}
