/**
 * The runner on real sockets and ptys, read by third-party peers (pymodbus,
 * mbpoll). The wall clock is the test's own, so "ten minutes at speed 600" takes no
 * time and the values read are exactly those of the simulated time.
 */
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { BINARIES, requireBinary } from '../../shared/test-support/binaries.ts'
import { loadDistrictFile } from '../districts/load.ts'
import { loadScenarioFile } from '../scenarios/load.ts'
import { targetDevices } from '../scenarios/timeline.ts'
import { mbpoll } from '../test-support/mbpoll.ts'
import { pymodbus } from '../test-support/pymodbus.ts'
import { float32 } from '../test-support/words.ts'
import { registerImage } from './dump.ts'
import { loadProfileLibrary, scenarioFileFor } from './load.ts'
import { planDistrict, planProfile, relocateTcp, type SimPlan } from './plan.ts'
import { Runner, type Endpoint } from './runner.ts'
import type { Simulation } from './simulation.ts'

const lib = loadProfileLibrary()
const district = loadDistrictFile(undefined, { profiles: lib.profiles }).district!
const storm = loadScenarioFile(scenarioFileFor('storm')!, { devices: targetDevices(district) }).scenario!
const samplePlan = (): SimPlan => relocateTcp(planDistrict(district, lib.profiles), { host: '127.0.0.1', portOffset: 0, freePorts: true })

let runner: Runner | undefined
let blocker: Server | undefined
afterEach(async () => {
  await runner?.stop()
  runner = undefined
  await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()))
  blocker = undefined
})

/** The sample district's TCP buses and their devices only: runs without socat. */
const tcpPlan = (): SimPlan => {
  const plan = samplePlan()
  const buses = plan.buses.filter((b) => b.transport.type === 'tcp')
  const on = new Set(buses.flatMap((b) => b.devices.map((d) => `${b.gateway}/${d}`)))
  return { buses, devices: plan.devices.filter((d) => on.has(`${d.gateway}/${d.id}`)) }
}

/** What every device of a simulation serves now: its values and its register image. */
const served = (sim: Simulation): Record<string, unknown> =>
  Object.fromEntries([...sim.entities.values()].map((e) => [e.id, { values: { ...e.values }, registers: registerImage(e) }]))

/** Ticks until the runner's scenario clock has been reached (one tick takes at most MAX_STEPS_PER_TICK steps). */
const catchUp = (r: Runner): void => {
  while (r.simulation.timeS < Math.floor(r.clockS)) r.tick()
}

const endpointOf = (eps: Endpoint[], device: string): Endpoint => {
  const ep = eps.find((e) => e.device === device)
  if (!ep) throw new Error(`no endpoint for ${device}`)
  return ep
}

describe('Runner', () => {
  it('storm at speed 600: the underpass level read over Modbus TCP rises as simulated time passes', async (ctx) => {
    requireBinary(ctx, BINARIES.pymodbus)
    requireBinary(ctx, BINARIES.socat)
    let wallMs = 0
    runner = new Runner({ plan: samplePlan(), scenario: storm, speed: 600, clock: () => wallMs, tickMs: 0 })
    const eps = await runner.start()
    const gauge = endpointOf(eps, 'wl-gqm-01')
    if (gauge.transport !== 'tcp') throw new Error('wl-gqm-01 is on a TCP bus')
    // hydrolux-rl80@2.3: level_m is float32 CDAB at holding 40001 (protocol address 0).
    const level = async (): Promise<number> => {
      const r = await pymodbus({ transport: { tcp: { port: gauge.port } }, method: 'read_holding_registers', address: 0, arg: 2, slave: gauge.unit })
      if (!r.ok || !('registers' in r) || !r.registers) throw new Error(`pymodbus: ${JSON.stringify(r)}`)
      return float32(r.registers, 'CDAB')
    }
    expect(await level()).toBe(0)
    const seen: number[] = []
    for (const wallS of [6, 7.5, 9, 10.5]) {
      wallMs = wallS * 1000 // × 600: 1:00, 1:15, 1:30, 1:45 simulated
      runner.tick()
      expect(runner.simulation.timeS).toBe(wallS * 600)
      seen.push(await level())
    }
    expect(seen[0]).toBeLessThan(0.05) // the first hour of the series is dry
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1] ?? 0)
    expect(seen.at(-1)).toBeGreaterThan(1)
    expect(Math.fround(runner.simulation.entities.get('wl-gqm-01')!.values.level_m as number)).toBe(seen.at(-1))
  }, 60_000)

  it('scenarioSpeed: the storm plays at 600× on the devices it plays on while the rest runs at speed 1, on the same buses', async (ctx) => {
    requireBinary(ctx, BINARIES.pymodbus)
    requireBinary(ctx, BINARIES.socat)
    let wallMs = 0
    runner = new Runner({ plan: samplePlan(), scenario: storm, speed: 1, scenarioSpeed: 600, clock: () => wallMs, tickMs: 0 })
    const eps = await runner.start()
    expect(eps.filter((e) => e.scenarioSpeed === 600).map((e) => e.device)).toEqual(['wl-gqm-01', 'wl-cwm-01', 'mh-gqm-05', 'mh-gqm-06', 'wl-dzm-01', 'mh-dzm-05', 'mh-dzm-06', 'wl-jgm-01'])
    expect(eps).toHaveLength(35)
    wallMs = 9000 // 1:30 of storm; 9 s of live district
    runner.tick()
    runner.tick() // 5400 steps: more than one tick takes (MAX_STEPS_PER_TICK)
    expect(runner.simulations.map((s) => [s.speed, s.simulation.timeS, s.simulation.entities.size])).toEqual([
      [600, 5400, 8],
      [1, 9, 27],
    ])
    expect(runner.simulation.scenario?.name).toBe('storm')
    expect(runner.simulations[1]?.simulation.scenario).toBeUndefined()
    // The flooded gauge is served on its own bus, beside a pipe of the live district (both on gw-guangqumen/conv-1).
    const gauge = endpointOf(eps, 'wl-gqm-01')
    const pipe = endpointOf(eps, 'pp-gqm-01')
    if (gauge.transport !== 'tcp' || pipe.transport !== 'tcp') throw new Error('gw-guangqumen/conv-1 is a TCP bus')
    expect(pipe.port).toBe(gauge.port)
    const r = await pymodbus({ transport: { tcp: { port: gauge.port } }, method: 'read_holding_registers', address: 0, arg: 2, slave: gauge.unit })
    if (!r.ok || !('registers' in r) || !r.registers) throw new Error(`pymodbus: ${JSON.stringify(r)}`)
    expect(float32(r.registers, 'CDAB')).toBeGreaterThan(1)
  }, 60_000)

  it.each([
    // Before the rain, the demo's default: the flood, the linked wells and the impacts at 1:10:00 all come after.
    ['0:45:00, then into the flood', 2700, 1800, 600],
    // Amid the impact series on mh-gqm-06 (1:10:00 + 40 s steps) and the rise: events before FROM must have been applied.
    ['1:10:50, amid the impacts', 4250, 300, 60],
  ])('scenarioFrom %s: the played devices serve at FROM and at FROM + x exactly what a run from 0 serves then (same seed)', async (_name, fromS, xS, scenarioSpeed) => {
    const options = { plan: tcpPlan(), scenario: storm, speed: 1, scenarioSpeed, seed: 7, tickMs: 0 } as const
    let wallA = 0
    let wallB = 0
    runner = new Runner({ ...options, scenarioFrom: fromS, clock: () => wallA })
    const fromZero = new Runner({ ...options, clock: () => wallB })
    try {
      await runner.start()
      await fromZero.start()
      // At start, before any tick: already at FROM.
      expect([runner.clockS, runner.simulation.timeS]).toEqual([fromS, fromS])
      wallB = (fromS / scenarioSpeed) * 1000
      catchUp(fromZero)
      expect(fromZero.simulation.timeS).toBe(fromS)
      expect(served(runner.simulation)).toEqual(served(fromZero.simulation))
      wallA = (xS / scenarioSpeed) * 1000
      wallB += wallA
      catchUp(runner)
      catchUp(fromZero)
      expect([runner.simulation.timeS, fromZero.simulation.timeS]).toEqual([fromS + xS, fromS + xS])
      const a = served(runner.simulation)
      expect(a).toEqual(served(fromZero.simulation))
      // Not a comparison of two dry roads: by FROM + x the underpass holds water.
      expect(runner.simulation.entities.get('wl-gqm-01')?.values.level_m).toBeGreaterThan(0.5)
    } finally {
      await fromZero.stop()
    }
  }, 60_000)

  it('scenarioFrom without scenarioSpeed: the whole district starts at FROM, as a run from 0 has it then', async () => {
    let wallA = 0
    let wallB = 0
    const options = { plan: tcpPlan(), scenario: storm, speed: 600, tickMs: 0 } as const
    runner = new Runner({ ...options, scenarioFrom: 3300, clock: () => wallA })
    const fromZero = new Runner({ ...options, clock: () => wallB })
    try {
      await runner.start()
      await fromZero.start()
      wallA = 1000 // 600 simulated seconds on
      wallB = 6500 // (3300 + 600) / 600
      catchUp(runner)
      catchUp(fromZero)
      expect(runner.simulations).toHaveLength(1)
      expect(runner.simulation.timeS).toBe(3900)
      expect(served(runner.simulation)).toEqual(served(fromZero.simulation))
    } finally {
      await fromZero.stop()
    }
  }, 60_000)

  it.each([
    ['without a scenario', { scenarioFrom: 60 }, 'a scenario start time needs a scenario'],
    ['below 0', { scenario: storm, scenarioFrom: -1 }, "scenario start time must be from 0 to before the scenario's end (46800 s), got -1"],
    ['at the end', { scenario: storm, scenarioFrom: 46_800 }, "scenario start time must be from 0 to before the scenario's end (46800 s), got 46800"],
  ])('refuses scenarioFrom %s', async (_name, opts, message) => {
    runner = new Runner({ plan: tcpPlan(), ...opts })
    await expect(runner.start()).rejects.toThrow(message)
  })

  it('serves every RTU bus of the district on a pty pair, and removes the pairs on stop', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    requireBinary(ctx, BINARIES.mbpoll)
    runner = new Runner({ plan: samplePlan(), speed: 0 })
    const eps = await runner.start()
    const rtu = eps.filter((e) => e.transport === 'rtu')
    expect(new Set(rtu.map((e) => (e.transport === 'rtu' ? e.path : ''))).size).toBe(2)
    // mh-e2r-01 (cividrain-mc200@1.4, unit 3 on the 8E1 line): input registers 0..5.
    const ep = endpointOf(eps, 'mh-e2r-01')
    if (ep.transport !== 'rtu') throw new Error('mh-e2r-01 is on an RTU bus')
    expect(ep).toMatchObject({ baud: 9600, parity: 'even', stopBits: 1 })
    const r = await mbpoll(['-m', 'rtu', '-b', '9600', '-P', 'even', '-a', String(ep.unit), '-t', '3', '-r', '0', '-c', '6', '-0', '-1', ep.path])
    expect(r.error).toBeUndefined()
    expect(r.values.get(3)).toBe('100') // battery_pct at t = 0
    await runner.stop()
    for (const e of rtu) if (e.transport === 'rtu') expect(existsSync(e.path)).toBe(false)
  }, 60_000)

  it('starts all buses or none: a TCP port in use stops the pty pairs already made', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    const busy = createServer()
    blocker = busy
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    const port = (busy.address() as { port: number }).port
    const plan = samplePlan()
    // RTU buses first, so their ptys exist when the TCP bus fails.
    const ordered: SimPlan = { ...plan, buses: [...plan.buses.filter((b) => b.transport.type === 'rtu'), ...plan.buses.filter((b) => b.transport.type === 'tcp').map((b) => ({ ...b, transport: { type: 'tcp' as const, host: '127.0.0.1', port } }))] }
    runner = new Runner({ plan: ordered, speed: 0 })
    await expect(runner.start()).rejects.toThrow(`bus gw-guangqumen/conv-1: cannot listen on 127.0.0.1:${port}: the port is in use`)
    expect(runner.endpoints()).toEqual([])
  }, 30_000)

  it('unmapped: zeros serves a read across registers no point maps; by default such a read gets exception 02', async (ctx) => {
    requireBinary(ctx, BINARIES.pymodbus)
    const hydrolux = lib.profiles.get('hydrolux-rl80@2.3')!
    // Holding 0..31 spans level_m … rssi_dbm with unmapped gaps between (the edge planner fills gaps ≤ 10).
    const read = async (r: Runner) => {
      const ep = (await r.start())[0]!
      if (ep.transport !== 'tcp') throw new Error('a TCP plan')
      return pymodbus({ transport: { tcp: { port: ep.port } }, method: 'read_holding_registers', address: 0, arg: 32, slave: 1 })
    }
    runner = new Runner({ plan: planProfile(hydrolux, [1], { type: 'tcp', host: '127.0.0.1', port: 0 }), speed: 0 })
    expect(await read(runner)).toMatchObject({ ok: false, exception: 2 })
    await runner.stop()
    runner = new Runner({ plan: planProfile(hydrolux, [1], { type: 'tcp', host: '127.0.0.1', port: 0 }), speed: 0, unmapped: 'zeros' })
    const r = await read(runner)
    expect(r.ok && 'registers' in r ? r.registers?.length : r).toBe(32)
  }, 30_000)

  it('refuses a fault for a device the plan does not have', async () => {
    runner = new Runner({ plan: samplePlan(), faults: [{ device: 'nope', fault: { kind: 'stuck' } }] })
    await expect(runner.start()).rejects.toThrow('fault for unknown device "nope"')
  })
})
