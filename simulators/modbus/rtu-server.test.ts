/**
 * The RTU server on one end of a socat pty pair; on the other end mbpoll, pymodbus
 * or a raw port. Frames the tests write are spelled out with their published CRCs.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { BINARIES, requireBinary } from '../../shared/test-support/binaries.ts'
import { SimulatedDevice } from '../device/device.ts'
import { mbpoll } from '../test-support/mbpoll.ts'
import { TEST_LEVEL, TEST_MANHOLE, testProfile } from '../test-support/profiles.ts'
import { openPtyPair, type PtyPair } from './pty-pair.ts'
import { pymodbus } from '../test-support/pymodbus.ts'
import { openSerialPeer, type SerialPeer } from '../test-support/serial-peer.ts'
import { ModbusRtuServer, type RtuServerOptions } from './rtu-server.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(s.split(' ').map((h) => parseInt(h, 16)))
const show = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' ')

let pty: PtyPair | undefined
let server: ModbusRtuServer | undefined
let peer: SerialPeer | undefined

afterEach(async () => {
  await peer?.close()
  await server?.stop()
  await pty?.close()
  peer = server = pty = undefined
})

const manhole = (values: Record<string, number | boolean> = {}): SimulatedDevice =>
  new SimulatedDevice({ profile: testProfile(TEST_MANHOLE), values: { tilt_deg: -12.3, water_level_m: 2.5, report_interval_s: 300, ...values } })

/** A pty pair with the server on end a; returns end b for the master. */
async function line(units: [number, SimulatedDevice][], opts: Partial<RtuServerOptions> = {}): Promise<string> {
  pty = await openPtyPair()
  server = new ModbusRtuServer({ units: new Map(units), path: pty.a, baudRate: 9600, parity: 'none', ...opts })
  await server.start()
  return pty.b
}

const rtu = (path: string, unit: string, type: string, reference: number, count = 1, extra: string[] = []): string[] => [
  '-m', 'rtu', '-b', '9600', '-P', 'none', '-a', unit, '-t', type, '-r', String(reference), '-c', String(count), '-0', '-1', ...extra, path,
]

describe('ModbusRtuServer with mbpoll over a socat pty pair', () => {
  it('two slaves on one line both answer, each with its own values', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    requireBinary(ctx, BINARIES.mbpoll)
    const b = await line([[1, manhole()], [2, manhole({ tilt_deg: 45 })]])
    const r = await mbpoll(rtu(b, '1,2', '3', 0))
    expect(r.error).toBeUndefined()
    // tilt -12.3 → raw -123 (65413 unsigned); 45.0 → 450.
    expect(r.stdout).toMatch(/Polling slave 1\.\.\.\s+\[0\]:\s+65413[\s\S]*Polling slave 2\.\.\.\s+\[0\]:\s+450/)
    expect((await mbpoll(rtu(b, '1', '3:float', 1, 1, ['-B']))).values.get(1)).toBe('2.5')
    expect(server?.stats.answered).toBe(3)
  })

  it('bad-crc: mbpoll reports an invalid CRC', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    requireBinary(ctx, BINARIES.mbpoll)
    const d = manhole()
    d.setFault({ kind: 'bad-crc' })
    const b = await line([[1, d]])
    expect((await mbpoll(rtu(b, '1', '4', 0))).error).toBe('Invalid CRC')
  })

  it('a unit id nobody holds is ignored (mbpoll times out), an exception is reported by name', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    requireBinary(ctx, BINARIES.mbpoll)
    const b = await line([[1, manhole()]])
    expect((await mbpoll(rtu(b, '5', '4', 0, 1, ['-o', '0.3']))).error).toBe('Connection timed out')
    expect(server?.stats.otherUnits).toBe(1)
    expect((await mbpoll(rtu(b, '1', '4', 40))).error).toBe('Illegal data address')
  })
})

describe('ModbusRtuServer with pymodbus over a socat pty pair', () => {
  it('reads the same values and gets exception codes', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    requireBinary(ctx, BINARIES.pymodbus)
    const busy = manhole()
    busy.setFault({ kind: 'exception', code: 0x06 })
    const b = await line([[1, manhole()], [2, busy]])
    const transport = { rtu: { port: b, baudrate: 9600, parity: 'N' as const } }
    expect(await pymodbus({ transport, method: 'read_input_registers', address: 0, arg: 3, slave: 1 })).toMatchObject({ ok: true, registers: [65413, 0x4020, 0] })
    expect(await pymodbus({ transport, method: 'read_holding_registers', address: 0, arg: 1, slave: 2 })).toEqual({ ok: false, exception: 6, function_code: 3 })
  })
})

describe('ModbusRtuServer on the wire', () => {
  // 01 04 00 00 00 01 + CRC 31 CA: read input register 0 of unit 1.
  const READ_IR0 = '01 04 00 00 00 01 31 CA'

  it('resynchronises after line noise and counts the garbage', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    const b = await line([[1, manhole()]])
    peer = await openSerialPeer(b)
    peer.send(hex(`00 FF 13 ${READ_IR0}`))
    const { bytes } = await peer.receive(7)
    // 01 04 02 FF 85 + CRC: the CRC bytes are checked by the client, here only the body.
    expect(show(bytes.subarray(0, 5))).toBe('01 04 02 FF 85')
    expect(server?.stats.garbageBytes).toBe(3)
  })

  it('broadcast (unit 0) writes reach every unit and get no answer', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    const a = manhole()
    const c = manhole()
    const b = await line([[1, a], [2, c]])
    peer = await openSerialPeer(b)
    // 00 06 00 00 00 78 + CRC 88 39: write holding register 0 = 120 to everyone.
    peer.send(hex('00 06 00 00 00 78 88 39'))
    expect((await peer.receive(1, 300)).bytes.length).toBe(0)
    expect(a.get('report_interval_s')).toEqual({ ok: true, value: 120 })
    expect(c.get('report_interval_s')).toEqual({ ok: true, value: 120 })
    expect(server?.stats.broadcasts).toBe(1)
  })

  it('truncated: only the first half of the answer frame is sent', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    const d = manhole()
    d.setFault({ kind: 'truncated' })
    const b = await line([[1, d]])
    peer = await openSerialPeer(b)
    peer.send(hex(READ_IR0))
    const { bytes } = await peer.receive(7, 300)
    expect(show(bytes)).toBe('01 04 02')
  })

  it('an unknown function code is taken as a frame after silence and answered 01', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    const b = await line([[1, manhole()]])
    peer = await openSerialPeer(b)
    // 01 07 + CRC 41 E2: Read Exception Status (serial-line only, not served here).
    peer.send(hex('01 07 41 E2'))
    const { bytes } = await peer.receive(5)
    expect(show(bytes.subarray(0, 3))).toBe('01 87 01')
  })

  it('never answers before the wire could have carried request, gaps, turnaround and answer', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    // TEST_LEVEL has turnaroundMs 5. At 9600 baud 8N1 (10 bits/char): request 8 chars, answer 5 + 2 = 7 chars.
    // Earliest last byte of the answer: (8 + 3.5 + 7) × 10 / 9600 s + 5 ms = 19.27 + 5 = 24.27 ms after the request.
    const d = new SimulatedDevice({ profile: testProfile(TEST_LEVEL), values: { level_m: 1.234 } })
    const b = await line([[1, d]])
    peer = await openSerialPeer(b)
    const sent = peer.send(hex(READ_IR0))
    const { bytes, at } = await peer.receive(7)
    expect(show(bytes.subarray(0, 5))).toBe('01 04 02 04 D2')
    expect(at - sent).toBeGreaterThanOrEqual(24.2)
    expect(server?.lateness.count).toBe(1)
  })

  it('answers at once with timing off, and stop() closes the port', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    const b = await line([[1, manhole()]], { timing: false })
    peer = await openSerialPeer(b)
    peer.send(hex(READ_IR0))
    expect((await peer.receive(7)).bytes.length).toBe(7)
    expect(server?.lateness.count).toBe(0)
    await server?.stop()
    peer.send(hex(READ_IR0))
    expect((await peer.receive(8, 200)).bytes.length).toBe(7)
  })
})
