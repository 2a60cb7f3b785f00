import { describe, expect, it } from 'vitest'
import { decodePoint } from '../../shared/codec/index.ts'
import { resolveProfile, type ResolvedProfile } from '../../shared/profile/resolve.ts'
import type { Point, Profile } from '../../shared/profile/schema.ts'
import { SimulatedDevice } from '../device/device.ts'
import { BATTERY_CURVES, batteryVolts, bindProfile, constantFor, constantValues, liveValues, type PointSource } from './binding.ts'
import { loadProfileLibrary } from './load.ts'

const lib = loadProfileLibrary()
const shipped = (id: string): ResolvedProfile => {
  const p = lib.profiles.get(id)
  if (!p) throw new Error(`no shipped profile ${id}`)
  return p
}

/** A source as one short word, for the tables. */
function short(s: PointSource): string {
  switch (s.from) {
    case 'quantity':
      return `${s.quantity}${s.counter ? ' (counter)' : ''}`
    case 'battery-voltage':
      return `battery ${s.emptyV}–${s.fullV} V`
    case 'low-battery':
      return `battery < ${s.belowPct} %`
    case 'status-word':
      return 'status word'
    case 'constant':
      return `= ${JSON.stringify(s.value)}`
  }
}

const sources = (id: string): Record<string, string> => Object.fromEntries(bindProfile(shipped(id)).points.map((b) => [b.point.name, short(b.source)]))

describe('bindProfile: every point of the shipped profiles', () => {
  it('has no profile issues to hide behind', () => {
    expect(lib.issues).toEqual([])
  })

  it.each([
    [
      'aquameter-us12@1.7',
      {
        level_m: 'level_m',
        distance_m: '= 6.125', // middle of 0.25..12, on the 1 mm resolution
        temperature_c: 'temperature_c',
        status: 'status word', // shares register 3 with the flags below
        no_echo: '= false',
        temp_comp_fault: '= false',
        blocking_distance: '= false',
        rain_tips: 'rain_total_mm (counter)', // alias, unit mm
        battery_pct: 'battery_pct',
        rssi_dbm: '= -70', // water-level models have no radio: middle of -140..0
      },
    ],
    [
      'hydrolux-rl80@2.3',
      {
        level_m: 'level_m',
        distance_m: '= 15.04',
        echo_quality_pct: '= 60', // 0..100 narrowed by its lo alarm at 20
        rain_tips: 'rain_total_mm (counter)',
        status: 'status word',
        echo_lost: '= false',
        sensor_fault: '= false',
        flood_switch: '= false',
        battery_v: 'battery 11–12.8 V', // range up to 16 V: a 12 V lead-acid battery
        temperature_c: 'temperature_c',
        rssi_dbm: '= -70',
        datum_offset_m: '= 15', // readwrite setting: constant, written once
      },
    ],
    [
      'presstek-ptx40@5.2',
      {
        pressure_bar: 'pressure_bar',
        temperature_c: 'temperature_c',
        status: 'status word',
        overpressure: '= false',
        underpressure: '= false',
        sensor_fault: '= false',
        battery_low: 'battery < 20 %', // battery_pct's lo alarm
        pressure_min_bar: 'pressure_bar',
        pressure_max_bar: 'pressure_bar',
        battery_pct: 'battery_pct',
        rssi_dbm: '= -70',
      },
    ],
    [
      'vitaflow-pg7@1.0.3',
      {
        pressure_bar: 'pressure_bar',
        temperature_c: 'temperature_c',
        status: 'status word',
        over_range: '= false',
        sensor_open_circuit: '= false',
        logger_full: '= false',
        chamber_flooded: '= false',
        pressure_avg_bar: 'pressure_bar',
        battery_pct: 'battery_pct',
        rssi_dbm: '= -70',
        sample_interval_s: '= 1801', // 1..3600: 1800.5 rounded to the register's whole seconds
        logging_enabled: '= false',
      },
    ],
    [
      'cividrain-mc200@1.4',
      {
        status: 'status word',
        cover_open: 'cover_open',
        cover_displaced: 'displaced',
        water_in_well: 'water_in_well',
        sensor_fault: '= false',
        tilt_deg: 'tilt_deg',
        impact_count: 'impact_count (counter)',
        battery_pct: 'battery_pct',
        rssi_dbm: 'rssi_dbm',
        temperature_c: 'temperature_c',
        tilt_threshold_deg: '= 23',
      },
    ],
    [
      'cividrain-mc200@2.1',
      {
        model_code: '= "MC200"',
        status: 'status word',
        cover_open: 'cover_open',
        cover_displaced: 'displaced',
        water_in_well: 'water_in_well',
        tamper: '= false',
        sensor_fault: '= false',
        tilt_deg: 'tilt_deg',
        impact_count: 'impact_count (counter)',
        peak_impact_g: '= 4', // 0..200 narrowed by hi 8: never a constant alarm
        lid_switch: 'cover_open',
        water_probe: 'water_in_well',
        battery_pct: 'battery_pct',
        rssi_dbm: 'rssi_dbm',
        temperature_c: 'temperature_c',
        battery_v: 'battery 3–3.65 V', // range up to 4 V: one lithium cell
      },
    ],
    [
      'streetsense-ls30@3.0.2',
      {
        cover_open: 'cover_open',
        cover_displaced: 'displaced',
        water_in_well: 'water_in_well',
        tamper: '= false',
        tilt_x_deg: '= 0',
        tilt_y_deg: '= 0',
        tilt_deg: 'tilt_deg',
        impact_count: 'impact_count (counter)',
        diagnostics: 'status word',
        battery_low: 'battery < 25 %',
        radio_fault: '= false',
        accelerometer_fault: '= false',
        battery_pct: 'battery_pct',
        rssi_dbm: 'rssi_dbm',
        temperature_c: 'temperature_c',
        report_period_s: '= 21630',
      },
    ],
  ])('%s', (id, expected) => {
    expect(sources(id)).toEqual(expected)
  })

  it('covers every shipped profile', () => {
    expect([...lib.profiles.keys()].sort()).toEqual(
      ['aquameter-us12@1.7', 'cividrain-mc200@1.4', 'cividrain-mc200@2.1', 'hydrolux-rl80@2.3', 'presstek-ptx40@5.2', 'streetsense-ls30@3.0.2', 'vitaflow-pg7@1.0.3'].sort(),
    )
  })
})

const base = { vendor: 'T', model: 'X1', firmware: '1', protocol: 'modbus' } as const
const profileOf = (kind: Profile['kind'], points: Point[]): ResolvedProfile => resolveProfile({ id: 't-x1@1', kind, ...base, points })

describe('bindProfile: when a name is not enough', () => {
  it.each([
    ['a level in feet stays constant', 'water-level', { name: 'level_m', table: 'input', address: 0, type: 'uint16', unit: 'ft' }, '= 0'],
    ['a level without a unit is trusted', 'water-level', { name: 'level_m', table: 'input', address: 0, type: 'uint16', scale: 0.01 }, 'level_m'],
    ['a boolean quantity on a number stays constant', 'manhole-cover', { name: 'cover_open', table: 'input', address: 0, type: 'uint16' }, '= 0'],
    ['a quantity of another kind stays constant', 'pipe-pressure', { name: 'tilt_deg', table: 'input', address: 0, type: 'int16', unit: 'deg' }, '= 0'],
    ['a raw tip count (no unit) is not mm', 'water-level', { name: 'rain_tips', table: 'input', address: 0, type: 'uint16', unit: 'tips' }, '= 0'],
    ['a 16-bit status without bit points is just a constant', 'pipe-pressure', { name: 'status', table: 'input', address: 0, type: 'uint16' }, '= 0'],
    ['a readwrite quantity is a setting, not a measurement', 'pipe-pressure', { name: 'pressure_bar', table: 'holding', address: 0, type: 'uint16', access: 'readwrite', range: { min: 0, max: 10 } }, '= 5'],
    ['a low-battery coil follows the charge', 'pipe-pressure', { name: 'low_battery', table: 'discrete', address: 0, type: 'bool' }, 'battery < 20 %'],
  ] as const)('%s', (_why, kind, point, expected) => {
    const b = bindProfile(profileOf(kind, [point as Point]))
    expect(short(b.points[0]?.source ?? { from: 'status-word' })).toBe(expected)
  })
})

describe('constantFor', () => {
  const pt = (p: Partial<Point>): Parameters<typeof constantFor>[1] => profileOf('pipe-pressure', [{ name: 'x', table: 'input', address: 0, type: 'uint16', ...p } as Point]).points[0]!
  it.each([
    ['flag: false', { type: 'bit', bit: 3 }, false],
    ['flag whose alarm value is false: true (the healthy state)', { type: 'bool', table: 'discrete', alarm: { state: { value: false, severity: 'major' } } }, true],
    ['text: the model name, cut to the registers', { type: 'string', registers: 1 }, 'X1'],
    ['number without range: 0', {}, 0],
    ['range only: its middle', { type: 'float32', range: { min: 2, max: 3 } }, 2.5],
    ['range and alarms: the middle of the normal band', { type: 'float32', range: { min: 0, max: 100 }, alarm: { lo: 20, hi: 40 } }, 30],
    ['lolo/hihi when lo/hi are absent', { type: 'float32', range: { min: 0, max: 100 }, alarm: { lolo: 10, hihi: 20 } }, 15],
    ['min only: the min, or 0 when below 0', { type: 'int16', range: { min: -5 } }, 0],
    ['max only: 0, or the max when below 0', { type: 'int16', range: { max: -5 } }, -5],
    ['integer register: on its resolution', { scale: 0.5, range: { min: 0, max: 1.5 } }, 1], // 0.75 → raw 1.5 → 2 → 1.0
  ] as const)('%s', (_why, p, expected) => {
    expect(constantFor({ model: 'X1' }, pt(p as Partial<Point>))).toBe(expected)
  })
})

describe('liveValues', () => {
  const wl = profileOf('water-level', [
    { name: 'level_m', table: 'input', address: 0, type: 'uint16', scale: 0.001, unit: 'm', range: { min: 0, max: 10 } },
    { name: 'rain_tips', table: 'input', address: 1, type: 'uint32', scale: 0.2, unit: 'mm' },
    { name: 'battery_v', table: 'input', address: 3, type: 'uint16', scale: 0.01, unit: 'V', range: { min: 0, max: 16 } },
    { name: 'status', table: 'input', address: 4, type: 'uint16' },
    { name: 'battery_low', table: 'input', address: 4, type: 'bit', bit: 3 },
    { name: 'counts', table: 'input', address: 5, type: 'uint16', unit: 'mm' },
  ])
  const mc = profileOf('manhole-cover', [
    { name: 'impact_count', table: 'input', address: 0, type: 'uint16' },
    { name: 'cover_open', table: 'discrete', address: 0, type: 'bool' },
  ])
  const readings = { level_m: 1.2345, rain_rate_mm_h: 3, rain_total_mm: 0.7, battery_pct: 50, temperature_c: 20 }

  it('passes model values through and derives voltage and flags', () => {
    const { values, problems } = liveValues(bindProfile(wl), readings)
    expect(problems).toEqual([])
    expect(values).toEqual({ level_m: 1.2345, rain_tips: 0.6, battery_v: batteryVolts(BATTERY_CURVES.leadAcid12V, 50), battery_low: false })
    expect(values.battery_v).toBeCloseTo(11.9, 12)
    expect(liveValues(bindProfile(wl), { ...readings, battery_pct: 19.9 }).values.battery_low).toBe(true)
  })

  it.each([
    ['a tipping bucket counts whole tips (floor)', 0.7, 0.6],
    ['float error does not lose a tip', 0.6000000000000001, 0.6],
    ['exactly three tips', 0.6, 0.6],
  ])('%s', (_why, total, served) => {
    expect(liveValues(bindProfile(wl), { ...readings, rain_total_mm: total }).values.rain_tips).toBe(served)
  })

  it('wraps an unsigned counter at its register width, as the firmware does', () => {
    expect(liveValues(bindProfile(mc), { impact_count: 65_537, cover_open: true }).values).toEqual({ impact_count: 1, cover_open: true })
  })

  it('never clamps: a value the codec refuses is a problem, not served', () => {
    const { values, problems } = liveValues(bindProfile(wl), { ...readings, level_m: 12 })
    expect(values.level_m).toBeUndefined()
    expect(problems).toEqual([{ point: 'level_m', value: 12, reason: 'value 12 is above max 10' }])
  })

  it('leaves status words and constants out; constants come once from constantValues', () => {
    const b = bindProfile(wl)
    expect(Object.keys(liveValues(b, readings).values)).not.toContain('status')
    expect(constantValues(b)).toEqual({ counts: 0 })
  })

  it('writes bit flags without a number over them: the status word is the flags', () => {
    const device = new SimulatedDevice({ profile: wl })
    const b = bindProfile(wl)
    device.set({ ...constantValues(b), ...liveValues(b, { ...readings, battery_pct: 5 }).values })
    const status = wl.points.find((p) => p.name === 'status')!
    expect(decodePoint(status, device.words('input', 4, 1))).toEqual({ ok: true, value: 0b1000 })
  })
})
