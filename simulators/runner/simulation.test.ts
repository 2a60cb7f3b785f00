import { describe, expect, it } from 'vitest'
import { exceptionPdu } from '../../shared/modbus/codes.ts'
import { loadDistrictFile } from '../districts/load.ts'
import { loadScenarioFile } from '../scenarios/load.ts'
import type { Scenario } from '../scenarios/scenario.ts'
import { targetDevices } from '../scenarios/timeline.ts'
import { dumpLine, dumpLines, mappedRuns, registerImage } from './dump.ts'
import { loadProfileLibrary, scenarioFileFor } from './load.ts'
import { planDistrict, planProfile } from './plan.ts'
import { Simulation } from './simulation.ts'

const lib = loadProfileLibrary()
const district = loadDistrictFile(undefined, { profiles: lib.profiles }).district!
const plan = planDistrict(district, lib.profiles)
const scenario = (name: string): Scenario => {
  const r = loadScenarioFile(scenarioFileFor(name)!, { devices: targetDevices(district) })
  if (!r.scenario) throw new Error(JSON.stringify(r.issues))
  return r.scenario
}

const images = (sim: Simulation): string => [...sim.entities.values()].map((e) => JSON.stringify(registerImage(e))).join('\n')
/** FC03/FC04 read of `count` registers from `address`, as a request PDU. */
const readPdu = (fc: 3 | 4, address: number, count: number): Uint8Array => new Uint8Array([fc, address >> 8, address & 0xff, count >> 8, count & 0xff])

describe('Simulation', () => {
  it('is deterministic for a seed, and another seed gives other images', () => {
    const run = (seed: number): string => {
      const s = new Simulation({ devices: plan.devices, scenario: scenario('storm'), seed })
      s.advanceTo(3 * 3600)
      return images(s)
    }
    const a = run(5)
    expect(run(5)).toBe(a)
    expect(run(6)).not.toBe(a)
  })

  it('does not depend on how time is cut: 600 small advances give what one big one gives', () => {
    const one = new Simulation({ devices: plan.devices, scenario: scenario('pipe-burst') })
    const many = new Simulation({ devices: plan.devices, scenario: scenario('pipe-burst') })
    one.advanceTo(1800)
    for (let t = 0; t <= 1800; t += 2.999) many.advanceTo(t)
    many.advanceTo(1800)
    expect(many.timeS).toBe(1800)
    expect(images(many)).toBe(images(one))
  })

  it('takes only whole steps, and never goes back', () => {
    const s = new Simulation({ devices: plan.devices.slice(0, 1), stepS: 2 })
    expect(s.advanceTo(5)).toBe(2)
    expect(s.timeS).toBe(4)
    expect(s.advanceTo(1)).toBe(0)
    expect(s.timeS).toBe(4)
  })

  it('storm: the Guangqumen underpass gauge rises with the rain and the linked cover sees water', () => {
    const s = new Simulation({ devices: plan.devices, scenario: scenario('storm') })
    const gauge = s.entities.get('wl-gqm-01')!
    const cover = s.entities.get('mh-gqm-06')!
    s.advanceTo(3600)
    expect(gauge.values.level_m).toBe(0) // the first hour of the series is dry
    s.advanceTo(5400)
    expect(gauge.values.level_m).toBeGreaterThan(1)
    expect(gauge.values.rain_tips).toBeGreaterThan(10)
    expect(cover.values.water_in_well).toBe(true)
    expect(s.entities.get('mh-gqm-05')!.values.water_in_well).toBe(false) // 1.2 m up the ramp
    s.advanceTo(13 * 3600)
    expect(gauge.values.level_m).toBe(0) // pumped dry again
    expect(s.problems).toEqual([])
  })

  it('pipe-burst: the main loses 1.2 bar at 0:20:00, sags its neighbour, and recovers', () => {
    const s = new Simulation({ devices: plan.devices, scenario: scenario('pipe-burst') })
    const p = s.entities.get('pp-gqm-01')!
    s.advanceTo(1199)
    const before = p.values.pressure_bar as number
    s.advanceTo(1230)
    expect(before - (p.values.pressure_bar as number)).toBeGreaterThan(1)
    s.advanceTo(7000)
    expect(Math.abs((p.values.pressure_bar as number) - before)).toBeLessThan(0.5)
  })

  it('cover-theft: the cover opens, is displaced, and is reseated', () => {
    const s = new Simulation({ devices: plan.devices, scenario: scenario('cover-theft') })
    const c = s.entities.get('mh-e2r-02')!
    s.advanceTo(12 * 60 + 1)
    expect(c.values).toMatchObject({ cover_open: true, cover_displaced: false })
    expect(c.values.tilt_deg).toBeCloseTo(72, 0)
    s.advanceTo(13 * 60)
    expect(c.values).toMatchObject({ cover_open: true, cover_displaced: true })
    s.advanceTo(46 * 60)
    expect(c.values).toMatchObject({ cover_open: false, cover_displaced: false })
    expect(s.entities.get('mh-e2r-01')!.values.impact_count).toBeGreaterThan(0)
  })

  it('sensor-faults: device faults, point faults and lost requests, each cleared again', () => {
    // Without quirks: the MC200's 20 ms firmware pause would silence back-to-back requests too.
    const s = new Simulation({ devices: plan.devices, scenario: scenario('sensor-faults'), quirks: false })
    const at = (t: number, id: string): string => {
      s.advanceTo(t)
      return s.entities.get(id)!.describeFault()
    }
    expect(at(5 * 60 + 1, 'wl-cwm-01')).toBe('no-response')
    expect(s.entities.get('wl-cwm-01')!.unit.respond(readPdu(4, 0, 1))).toEqual({ kind: 'silent' })
    expect(at(20 * 60 + 1, 'pp-dzm-01')).toBe('exception:2')
    expect(s.entities.get('pp-dzm-01')!.unit.respond(readPdu(4, 0, 2))).toEqual({ kind: 'response', pdu: exceptionPdu(4, 2) })
    expect(at(30 * 60 + 1, 'pp-dzm-01')).toBe('exception:11')
    expect(at(46 * 60, 'mh-dsn-02')).toBe('bad-crc') // the whole gw-dongzhimen line
    expect(at(56 * 60, 'mh-dsn-02')).toBe('none')

    expect(at(75 * 60 + 1, 'wl-dzm-01')).toBe('level_m:stuck')
    expect(s.entities.get('wl-dzm-01')!.device.get('level_m')).toEqual({ ok: true, value: Math.fround(0.84) })
    expect(at(115 * 60 + 1, 'mh-e2r-04')).toBe('tilt_deg:sentinel')
    expect(s.entities.get('mh-e2r-04')!.device.get('tilt_deg')).toMatchObject({ ok: false, error: { code: 'sentinel' } })

    expect(at(130 * 60 + 1, 'mh-e2r-01')).toBe('loss:0.3')
    const unit = s.entities.get('mh-e2r-01')!.unit
    const silent = Array.from({ length: 400 }, () => unit.respond(readPdu(4, 1, 1))).filter((r) => r.kind === 'silent').length
    expect(silent / 400).toBeGreaterThan(0.2)
    expect(silent / 400).toBeLessThan(0.4)
    expect(at(150 * 60 + 1, 'mh-e2r-01')).toBe('none')
    expect(at(155 * 60 + 1, 'pp-jgmn-01')).toBe('wrong-order:ABCD')
    expect(at(3 * 3600 - 1, 'pp-jgmn-01')).toBe('none')
    expect(s.problems).toEqual([])
  })

  it('point faults: noise stays around the true value; stuck without a value holds the one at the fault', () => {
    const profile = lib.profiles.get('aquameter-us12@1.7')!
    const s = new Simulation({ devices: planProfile(profile, [1], { type: 'tcp', host: '127.0.0.1', port: 0 }).devices })
    const e = s.entities.get('unit-1')!
    const fault = (params: Record<string, unknown>): void => s.apply({ atS: 0, index: 0, select: { device: 'unit-1' }, action: 'fault', params: params as never })
    fault({ mode: 'noise', point: 'rssi_dbm', amplitude: 2 }) // a constant point (no radio model)
    fault({ mode: 'stuck', point: 'temperature_c' })
    const held = e.values.temperature_c
    const rssi: number[] = []
    for (let t = 1; t <= 400; t++) {
      s.advanceTo(t)
      rssi.push(e.values.rssi_dbm as number)
    }
    const mean = rssi.reduce((a, b) => a + b, 0) / rssi.length
    expect(Math.abs(mean + 70)).toBeLessThan(0.5) // around the constant, not a random walk away from it
    expect(Math.max(...rssi) - Math.min(...rssi)).toBeGreaterThan(4)
    expect(e.values.temperature_c).toBe(held)
    expect(e.describeFault()).toBe('rssi_dbm:noise,temperature_c:stuck')
    fault({ mode: 'none' })
    s.advanceTo(401)
    expect(e.values.rssi_dbm).toBe(-70)
    expect(e.values.temperature_c).not.toBe(held)
  })

  it('reports a value the codec refuses once per device and point, and keeps serving the rest', () => {
    // A water-level device whose gauge reads more than the aquameter's 10 m range.
    const profile = lib.profiles.get('aquameter-us12@1.7')!
    const devices = planProfile(profile, [1], { type: 'tcp', host: '127.0.0.1', port: 0 }).devices.map((d) => ({ ...d, model: { initialVolumeM3: 1e6, gaugeZeroM: -9 } }))
    const seen: string[] = []
    const s = new Simulation({ devices, onProblem: (p) => seen.push(`${p.device}.${p.point}: ${p.message}`) })
    s.advanceTo(10)
    expect(seen).toEqual([expect.stringMatching(/^unit-1\.level_m: model value [\d.]+ cannot be served: value [\d.]+ is above max 10$/)])
    expect(s.entities.get('unit-1')!.values.battery_pct).toBeGreaterThan(99)
  })
})

describe('dump', () => {
  it('lists the runs of mapped addresses per table', () => {
    expect(mappedRuns(lib.profiles.get('cividrain-mc200@2.1')!)).toEqual([
      ['discrete', 0, 2],
      ['input', 0, 4],
      ['input', 10, 6],
      ['input', 20, 4],
    ])
  })

  it('prints time, device, fault, values and hex words, the same every run', () => {
    const make = (): Simulation => new Simulation({ devices: plan.devices.filter((d) => d.id === 'mh-gqm-02'), seed: 9 })
    const line = JSON.parse(dumpLine(make(), make().entities.get('mh-gqm-02')!)) as Record<string, unknown>
    expect(line).toMatchObject({ t: 0, device: 'mh-gqm-02', unit: 6, fault: 'none', values: { model_code: 'MC200', cover_open: false } })
    expect(line.registers).toMatchObject({ discrete: { '0': '00' }, input: { '0': '4d43 3230 3000 0000' } }) // "MC200" in ASCII
    expect([...dumpLines(make(), 120, 60)]).toEqual([...dumpLines(make(), 120, 60)])
    expect([...dumpLines(make(), 120, 60)].map((l) => (JSON.parse(l) as { t: number }).t)).toEqual([0, 60, 120])
  })
})
