import { describe, expect, it } from 'vitest'
import { EXCEPTION_CODES } from '../../shared/modbus/codes.ts'
import type { Reply } from '../modbus/unit.ts'
import { TEST_MANHOLE, testProfile } from '../test-support/profiles.ts'
import { SimulatedDevice, type DeviceOptions } from './device.ts'

const u16 = (n: number): number[] => [(n >>> 8) & 0xff, n & 0xff]
const readReq = (fc: number, address: number, count: number): Uint8Array => Uint8Array.of(fc, ...u16(address), ...u16(count))
const show = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' ')

/** Registers of an FC03/04 response, or the exception as 'EX nn'. */
function registers(reply: Reply): number[] | string {
  if (reply.kind === 'silent') return 'silent'
  const p = reply.pdu
  if ((p[0] ?? 0) & 0x80) return `EX ${(p[1] ?? 0).toString(16).padStart(2, '0')}`
  return Array.from({ length: (p[1] ?? 0) / 2 }, (_, i) => ((p[2 + 2 * i] ?? 0) << 8) | (p[3 + 2 * i] ?? 0))
}

const VALUES = {
  cover_open: true,
  water_present: false,
  lock_engaged: false,
  tilt_deg: -12.3,
  water_level_m: 2.5,
  battery_v: 12.5,
  status: 0,
  flooded: true,
  tampered: true,
  temperature_c: 21.5,
  report_interval_s: 300,
  alarm_level_m: 1.5,
  open_count: 70000,
  serial: 'MH1-0042',
}

function device(extra: Partial<DeviceOptions> = {}): SimulatedDevice {
  return new SimulatedDevice({ profile: testProfile(TEST_MANHOLE), values: VALUES, ...extra })
}

// Input registers 0..6 for VALUES, worked out by hand:
// tilt -12.3 / 0.1 = -123 → 0xFF85; 2.5 as float32 = 0x40200000 (ABCD); 12.5 = 0x41480000 sent CDAB;
// status bits 0 and 3 → 0x0009; 21.5 / 0.1 = 215 → 0x00D7.
const INPUT_IMAGE = [0xff85, 0x4020, 0x0000, 0x0000, 0x4148, 0x0009, 0x00d7]

describe('SimulatedDevice image', () => {
  it('encodes engineering values into the registers a real device would hold', () => {
    const d = device()
    expect(d.words('input', 0, 7)).toEqual(INPUT_IMAGE)
    // report 300 = 0x012C; 1.5 / 0.01 = 150; 70000 = 0x00011170 sent CDAB; "MH1-0042" as ASCII pairs.
    expect(d.words('holding', 0, 8)).toEqual([0x012c, 150, 0x1170, 0x0001, 0x4d48, 0x312d, 0x3030, 0x3432])
    expect(d.words('discrete', 0, 2)).toEqual([1, 0])
  })

  it('serves it over FC04 and FC02', () => {
    const d = device()
    expect(registers(d.respond(readReq(4, 0, 7)))).toEqual(INPUT_IMAGE)
    expect(show((d.respond(readReq(2, 0, 2)) as { pdu: Uint8Array }).pdu)).toBe('02 01 01')
  })

  it('refuses, all or nothing, values the codec refuses, naming each', () => {
    const d = device()
    expect(() => d.set({ tilt_deg: 5, water_level_m: 7, nope: 1 })).toThrow(/water_level_m: value 7 is above max 5.*nope: no such point|nope: no such point.*water_level_m/)
    expect(d.get('tilt_deg')).toEqual({ ok: true, value: -12.3 })
  })

  it('serves raw values the codec would refuse through setRaw', () => {
    const d = device()
    d.setRaw('tilt_deg', -32768)
    d.setRaw('water_level_m', 9.75)
    expect(d.words('input', 0, 3)).toEqual([0x8000, 0x411c, 0x0000])
    expect(d.get('tilt_deg')).toMatchObject({ ok: false, error: { code: 'sentinel' } })
    expect(d.get('water_level_m')).toMatchObject({ ok: false, error: { code: 'out_of_range' } })
  })

  it('keeps bit points sharing a register independent', () => {
    const d = device()
    d.set({ flooded: false })
    expect(d.words('input', 5, 1)).toEqual([0x0008])
    d.setRaw('flooded', 1)
    expect(d.words('input', 5, 1)).toEqual([0x0009])
  })

  it('answers 02 for unmapped addresses, even partly unmapped, unless configured to serve zeros', () => {
    expect(registers(device().respond(readReq(4, 7, 1)))).toBe('EX 02')
    expect(registers(device().respond(readReq(4, 5, 3)))).toBe('EX 02')
    expect(registers(device().respond(readReq(3, 100, 2)))).toBe('EX 02')
    expect(registers(device({ unmapped: 'zeros' }).respond(readReq(4, 5, 4)))).toEqual([0x0009, 0x00d7, 0, 0])
  })
})

describe('SimulatedDevice writes', () => {
  it('FC06/FC16 to readwrite points update the image', () => {
    const d = device()
    expect(show((d.respond(Uint8Array.of(6, 0, 0, ...u16(600))) as { pdu: Uint8Array }).pdu)).toBe('06 00 00 02 58')
    expect(d.get('report_interval_s')).toEqual({ ok: true, value: 600 })
    d.respond(Uint8Array.of(0x10, 0, 0, 0, 2, 4, ...u16(60), ...u16(275)))
    expect(d.get('alarm_level_m')).toEqual({ ok: true, value: 2.75 })
    expect(d.stats.writes).toBe(2)
  })

  it('FC05 switches a readwrite coil', () => {
    const d = device()
    d.respond(Uint8Array.of(5, 0, 0, 0xff, 0))
    expect(d.get('lock_engaged')).toEqual({ ok: true, value: true })
  })

  it('refuses with 02 writes to read-only points and unmapped addresses, leaving the image alone', () => {
    const d = device()
    expect(registers(d.respond(Uint8Array.of(6, 0, 2, 0, 1)))).toBe('EX 02')
    expect(registers(d.respond(Uint8Array.of(6, 0, 50, 0, 1)))).toBe('EX 02')
    expect(registers(d.respond(Uint8Array.of(0x10, 0, 1, 0, 2, 4, 0, 1, 0, 2)))).toBe('EX 02')
    expect(d.get('open_count')).toEqual({ ok: true, value: 70000 })
    expect(d.get('alarm_level_m')).toEqual({ ok: true, value: 1.5 })
  })
})

describe('SimulatedDevice quirks', () => {
  it('refuses reads longer than maxRegistersPerRequest with 03, and forbidden ranges with 02', () => {
    const profile = testProfile(TEST_MANHOLE, { maxRegistersPerRequest: 4, forbiddenRanges: [{ table: 'input', start: 6, end: 6 }] })
    const d = new SimulatedDevice({ profile, values: VALUES })
    expect(registers(d.respond(readReq(4, 0, 5)))).toBe('EX 03')
    expect(registers(d.respond(readReq(4, 0, 4)))).toEqual(INPUT_IMAGE.slice(0, 4))
    expect(registers(d.respond(readReq(4, 5, 2)))).toBe('EX 02')
    expect(registers(new SimulatedDevice({ profile, values: VALUES, quirks: false }).respond(readReq(4, 0, 7)))).toEqual(INPUT_IMAGE)
  })

  it('drops a request that comes sooner than pauseBetweenRequestsMs after its last answer', () => {
    let now = 1000
    const d = new SimulatedDevice({ profile: testProfile(TEST_MANHOLE, { pauseBetweenRequestsMs: 50 }), values: VALUES, now: () => now })
    expect(d.respond(readReq(4, 0, 1)).kind).toBe('response')
    now += 49
    expect(d.respond(readReq(4, 0, 1)).kind).toBe('silent')
    now += 50
    expect(d.respond(readReq(4, 0, 1)).kind).toBe('response')
  })
})

describe('SimulatedDevice value source', () => {
  it('asks the source for values before each read, with the clock time', () => {
    let now = 0
    const d = device({ source: (t) => ({ temperature_c: t / 1000 }), now: () => now })
    now = 12_300
    expect(registers(d.respond(readReq(4, 6, 1)))).toEqual([123])
  })

  it('answers 04 when the source fails', () => {
    const d = device({
      source: () => {
        throw new Error('model diverged')
      },
    })
    expect(registers(d.respond(readReq(4, 0, 1)))).toBe('EX 04')
  })
})

describe('SimulatedDevice faults', () => {
  it('no-response: silence', () => {
    const d = device({ fault: { kind: 'no-response' } })
    expect(d.respond(readReq(4, 0, 1))).toEqual({ kind: 'silent' })
    expect(d.stats).toMatchObject({ requests: 1, silent: 1, responses: 0 })
  })

  it.each(EXCEPTION_CODES)('exception %i: every request answered with it', (code) => {
    const d = device({ fault: { kind: 'exception', code } })
    expect([...(d.respond(readReq(3, 0, 1)) as { pdu: Uint8Array }).pdu]).toEqual([0x83, code])
    expect([...(d.respond(Uint8Array.of(6, 0, 0, 0, 1)) as { pdu: Uint8Array }).pdu]).toEqual([0x86, code])
  })

  it('rejects an exception code Modbus does not define', () => {
    expect(() => device().setFault({ kind: 'exception', code: 7 as never })).toThrow(RangeError)
  })

  it('bad-crc and truncated: the right answer, marked for the transport to damage', () => {
    const d = device({ fault: { kind: 'bad-crc' } })
    expect(d.respond(readReq(4, 0, 1))).toEqual({ kind: 'bad-crc', pdu: Uint8Array.of(4, 2, 0xff, 0x85) })
    d.setFault({ kind: 'truncated' })
    expect(d.respond(readReq(4, 0, 1))).toEqual({ kind: 'truncated', pdu: Uint8Array.of(4, 2, 0xff, 0x85) })
  })

  it('stuck: reads freeze at the image of the moment; new values show once cleared', () => {
    const d = device()
    d.setFault({ kind: 'stuck' })
    d.set({ temperature_c: 30 })
    expect(registers(d.respond(readReq(4, 6, 1)))).toEqual([215])
    d.setFault({ kind: 'none' })
    expect(registers(d.respond(readReq(4, 6, 1)))).toEqual([300])
  })

  it('sentinel: first sentinel raw value, NaN for floats without one, integers without one unchanged', () => {
    const d = device({ fault: { kind: 'sentinel' } })
    // tilt → -32768; water_level (float, no sentinel) → quiet NaN 0x7FC00000; battery (CDAB, sentinel -1 = 0xBF800000) → 0000 BF80;
    // status, bits and temperature (integers without sentinels) as they were.
    expect(registers(d.respond(readReq(4, 0, 7)))).toEqual([0x8000, 0x7fc0, 0x0000, 0x0000, 0xbf80, 0x0009, 0x00d7])
  })

  it('wrong-order: 32-bit values served with their words swapped, or in a given order', () => {
    const d = device({ fault: { kind: 'wrong-order' } })
    expect(registers(d.respond(readReq(4, 1, 4)))).toEqual([0x0000, 0x4020, 0x4148, 0x0000])
    expect(registers(d.respond(readReq(3, 2, 2)))).toEqual([0x0001, 0x1170])
    // A read covering only the second register of a value still gets the swapped word there.
    expect(registers(d.respond(readReq(4, 2, 1)))).toEqual([0x4020])
    d.setFault({ kind: 'wrong-order', order: 'DCBA' })
    expect(registers(d.respond(readReq(4, 1, 2)))).toEqual([0x0000, 0x2040])
    expect(registers(d.respond(readReq(4, 0, 1)))).toEqual([0xff85])
  })

  it('dropout: silent for forMs from when it was set, then back, and the fault clears itself', () => {
    let now = 0
    const d = device({ now: () => now })
    d.setFault({ kind: 'dropout', forMs: 500 })
    now = 499
    expect(d.respond(readReq(4, 0, 1)).kind).toBe('silent')
    now = 500
    expect(d.respond(readReq(4, 0, 1)).kind).toBe('response')
    expect(d.fault).toEqual({ kind: 'none' })
  })

  it('dropout with everyMs: silent for the first forMs of every period', () => {
    let now = 0
    const d = device({ now: () => now, fault: { kind: 'dropout', forMs: 100, everyMs: 1000 } })
    const kinds = [50, 150, 999, 1000, 1099, 1100, 2050].map((t) => {
      now = t
      return d.respond(readReq(4, 0, 1)).kind
    })
    expect(kinds).toEqual(['silent', 'response', 'response', 'silent', 'silent', 'response', 'silent'])
  })

  it('noise: spikes of 0.5..1 × amplitude on analog points only, some reads untouched', () => {
    const d = device({ fault: { kind: 'noise', probability: 0.5, amplitude: 10 } })
    let spiked = 0
    for (let i = 0; i < 200; i++) {
      const r = registers(d.respond(readReq(4, 0, 7))) as number[]
      const tilt = (((r[0] ?? 0) << 16) >> 16) / 10
      const delta = Math.abs(tilt - -12.3)
      if (delta > 1e-9) {
        spiked++
        expect(delta).toBeGreaterThanOrEqual(5 - 0.051)
        expect(delta).toBeLessThanOrEqual(10 + 0.051)
      }
      expect(r[5]).toBe(0x0009) // the status word (a bare uint16) and its bits are not analog
    }
    expect(spiked).toBeGreaterThan(60)
    expect(spiked).toBeLessThan(140)
  })

  it('noise: the same seed gives the same readings, another seed others', () => {
    const run = (seed: number): string[] => {
      const d = device({ seed, fault: { kind: 'noise' } })
      return Array.from({ length: 20 }, () => JSON.stringify(registers(d.respond(readReq(4, 0, 5)))))
    }
    expect(run(7)).toEqual(run(7))
    expect(run(7)).not.toEqual(run(8))
  })
})
