/**
 * The TCP server against third-party masters (mbpoll/libmodbus, pymodbus) and a
 * raw socket for what they cannot do. Expected values are worked out by hand from
 * the engineering values set (see INPUT_* below), never read back from the code
 * under test.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { BINARIES, requireBinary } from '../../shared/test-support/binaries.ts'
import { SimulatedDevice } from '../device/device.ts'
import { rawMbapClient, type RawMbapClient } from '../test-support/mbap-client.ts'
import { mbpoll, tcpArgs } from '../test-support/mbpoll.ts'
import { TEST_MANHOLE, testProfile } from '../test-support/profiles.ts'
import { pymodbus } from '../test-support/pymodbus.ts'
import type { ExceptionCode } from '../../shared/modbus/codes.ts'
import { encodeMbap, MBAP_HEADER_BYTES } from '../../shared/modbus/mbap.ts'
import type { ModbusUnit } from './unit.ts'
import { ModbusTcpServer } from './tcp-server.ts'

const VALUES = {
  cover_open: true,
  tilt_deg: -12.3, // raw -123 = 0xFF85 = 65413
  water_level_m: 2.5, // float32 0x40200000, ABCD
  battery_v: 12.5, // float32 0x41480000, CDAB on the wire: 0x0000 0x4148
  report_interval_s: 300,
  open_count: 70000, // 0x00011170, CDAB: 0x1170 0x0001
}

let server: ModbusTcpServer | undefined
const clients: RawMbapClient[] = []

afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  await server?.stop()
  server = undefined
})

function device(): SimulatedDevice {
  return new SimulatedDevice({ profile: testProfile(TEST_MANHOLE), values: VALUES })
}

async function serve(units: [number, SimulatedDevice][]): Promise<number> {
  server = new ModbusTcpServer({ units: new Map(units) })
  await server.start()
  return server.port
}

describe('ModbusTcpServer with mbpoll (libmodbus)', () => {
  it('serves the image: input registers, floats in both word orders, discrete inputs, holding registers', async (ctx) => {
    requireBinary(ctx, BINARIES.mbpoll)
    const port = await serve([[1, device()]])
    const regs = await mbpoll([...tcpArgs(port, 1, '3', 0, 5), '127.0.0.1'])
    expect(regs.error).toBeUndefined()
    expect([...regs.values.values()]).toEqual(['65413', '16416', '0', '0', '16712'])
    // mbpoll decodes floats itself: -B is big-endian word order (ABCD), without it the low word comes first (CDAB).
    expect((await mbpoll([...tcpArgs(port, 1, '3:float', 1), '-B', '127.0.0.1'])).values.get(1)).toBe('2.5')
    expect((await mbpoll([...tcpArgs(port, 1, '3:float', 3), '127.0.0.1'])).values.get(3)).toBe('12.5')
    expect((await mbpoll([...tcpArgs(port, 1, '4:int', 2), '127.0.0.1'])).values.get(2)).toBe('70000')
    expect([...(await mbpoll([...tcpArgs(port, 1, '1', 0, 2), '127.0.0.1'])).values.values()]).toEqual(['1', '0'])
    expect((await mbpoll([...tcpArgs(port, 1, '4', 0), '127.0.0.1'])).values.get(0)).toBe('300')
  })

  it('takes a write to a readwrite point and refuses one to a read-only point with "Illegal data address"', async (ctx) => {
    requireBinary(ctx, BINARIES.mbpoll)
    const d = device()
    const port = await serve([[1, d]])
    const ok = await mbpoll(['-m', 'tcp', '-p', String(port), '-a', '1', '-t', '4', '-r', '0', '-0', '127.0.0.1', '450'])
    expect(ok.stdout).toMatch(/Written 1 references/)
    expect(d.get('report_interval_s')).toEqual({ ok: true, value: 450 })
    const refused = await mbpoll(['-m', 'tcp', '-p', String(port), '-a', '1', '-t', '4', '-r', '2', '-0', '127.0.0.1', '1'])
    expect(refused.error).toBe('Illegal data address')
  })

  it.for([
    [0x01, 'Illegal function'],
    [0x02, 'Illegal data address'],
    [0x03, 'Illegal data value'],
    [0x04, 'Slave device or server failure'],
    [0x06, 'Slave device or server is busy'],
    [0x0b, 'Target device failed to respond'],
  ] as const)('an injected exception %i is what mbpoll reports: %s', async ([code, message], ctx) => {
    requireBinary(ctx, BINARIES.mbpoll)
    const d = device()
    d.setFault({ kind: 'exception', code: code as ExceptionCode })
    const port = await serve([[1, d]])
    const r = await mbpoll([...tcpArgs(port, 1, '4', 0), '127.0.0.1'])
    expect(r.error).toBe(message)
    expect(r.code).not.toBe(0)
  })

  it('no-response gives mbpoll its timeout; an unknown unit gives 0B from the "gateway"', async (ctx) => {
    requireBinary(ctx, BINARIES.mbpoll)
    const silent = device()
    silent.setFault({ kind: 'no-response' })
    const port = await serve([[1, device()], [2, silent]])
    const t0 = performance.now()
    const r = await mbpoll([...tcpArgs(port, 2, '4', 0), '-o', '0.3', '127.0.0.1'])
    expect(r.error).toBe('Connection timed out')
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300)
    expect((await mbpoll([...tcpArgs(port, 9, '4', 0), '127.0.0.1'])).error).toBe('Target device failed to respond')
  })
})

describe('ModbusTcpServer with pymodbus', () => {
  it('reads the same values and surfaces exceptions with their codes', async (ctx) => {
    requireBinary(ctx, BINARIES.pymodbus)
    const busy = device()
    busy.setFault({ kind: 'exception', code: 0x04 })
    const port = await serve([[1, device()], [17, busy]])
    const tcp = { tcp: { port } }
    expect(await pymodbus({ transport: tcp, method: 'read_input_registers', address: 0, arg: 5, slave: 1 })).toMatchObject({
      ok: true,
      registers: [65413, 0x4020, 0, 0, 0x4148],
    })
    expect(await pymodbus({ transport: tcp, method: 'read_holding_registers', address: 2, arg: 2, slave: 1 })).toMatchObject({ ok: true, registers: [0x1170, 1] })
    const bits = await pymodbus({ transport: tcp, method: 'read_discrete_inputs', address: 0, arg: 1, slave: 1 })
    expect(bits).toMatchObject({ ok: true })
    expect((bits as { bits: boolean[] }).bits[0]).toBe(true)
    expect(await pymodbus({ transport: tcp, method: 'read_holding_registers', address: 200, arg: 1, slave: 1 })).toEqual({ ok: false, exception: 2, function_code: 3 })
    expect(await pymodbus({ transport: tcp, method: 'read_input_registers', address: 0, arg: 1, slave: 17 })).toEqual({ ok: false, exception: 4, function_code: 4 })
    expect(await pymodbus({ transport: tcp, method: 'read_input_registers', address: 0, arg: 1, slave: 5 })).toEqual({ ok: false, exception: 0x0b, function_code: 4 })
  })

  it('takes a write_register', async (ctx) => {
    requireBinary(ctx, BINARIES.pymodbus)
    const d = device()
    const port = await serve([[1, d]])
    expect(await pymodbus({ transport: { tcp: { port } }, method: 'write_register', address: 1, arg: 275, slave: 1 })).toMatchObject({ ok: true })
    expect(d.get('alarm_level_m')).toEqual({ ok: true, value: 2.75 })
  })
})

describe('ModbusTcpServer on the wire', () => {
  const read = (tid: number, unitId: number, address: number): Uint8Array =>
    encodeMbap({ transactionId: tid, unitId, pdu: Uint8Array.of(4, 0, address, 0, 1) })

  it('binds 127.0.0.1 on a free port and refuses a port before start', async () => {
    const s = new ModbusTcpServer({ units: new Map() })
    expect(() => s.port).toThrow(/not listening/)
    server = s
    await s.start()
    expect(s.port).toBeGreaterThan(0)
  })

  it('answers pipelined requests for many units in order, echoing transaction and unit ids', async () => {
    const a = device()
    const b = device()
    b.set({ tilt_deg: 45 })
    const port = await serve([[1, a], [2, b], [247, a]])
    const c = await rawMbapClient(port)
    clients.push(c)
    const units = [1, 2, 247, 2, 1, 2, 247, 1]
    c.socket.write(Buffer.concat(units.map((u, i) => read(0x100 + i, u, 0))))
    const frames = await c.frames(units.length)
    expect(frames.map((f) => [f.transactionId, f.unitId])).toEqual(units.map((u, i) => [0x100 + i, u]))
    // tilt -12.3 → 0xFF85 on units 1/247; 45.0 → 450 = 0x01C2 on unit 2.
    expect(frames.map((f) => ((f.pdu[2] ?? 0) << 8) | (f.pdu[3] ?? 0))).toEqual(units.map((u) => (u === 2 ? 0x01c2 : 0xff85)))
  })

  it('reassembles a request split across TCP segments', async () => {
    const port = await serve([[1, device()]])
    const c = await rawMbapClient(port)
    clients.push(c)
    const req = read(7, 1, 0)
    c.socket.write(req.subarray(0, 3))
    await new Promise((r) => setTimeout(r, 30))
    c.socket.write(req.subarray(3))
    expect((await c.frames(1)).map((f) => f.transactionId)).toEqual([7])
  })

  it('drops frames with a protocol id other than 0 and keeps serving the connection', async () => {
    const port = await serve([[1, device()]])
    const c = await rawMbapClient(port)
    clients.push(c)
    const alien = read(1, 1, 0)
    alien[3] = 1
    c.socket.write(Buffer.concat([alien, read(2, 1, 0)]))
    expect((await c.frames(1)).map((f) => f.transactionId)).toEqual([2])
    expect(server?.stats.droppedFrames).toBe(1)
  })

  it('closes a connection whose header announces an impossible length, and survives it', async () => {
    const port = await serve([[1, device()]])
    const c = await rawMbapClient(port)
    clients.push(c)
    c.socket.write(Uint8Array.of(0, 1, 0, 0, 0xff, 0xff, 1, 3))
    expect(await c.closed()).toBe(true)
    expect(server?.stats.corruptStreams).toBe(1)
    const next = await rawMbapClient(port)
    clients.push(next)
    next.socket.write(read(3, 1, 0))
    expect((await next.frames(1)).length).toBe(1)
  })

  it('bad-crc becomes 0B (a gateway discards a corrupted RTU answer); truncated sends half a frame', async () => {
    const d = device()
    const port = await serve([[1, d]])
    const c = await rawMbapClient(port)
    clients.push(c)
    d.setFault({ kind: 'bad-crc' })
    c.socket.write(read(1, 1, 0))
    expect([...((await c.frames(1))[0]?.pdu ?? [])]).toEqual([0x84, 0x0b])
    d.setFault({ kind: 'truncated' })
    c.socket.write(read(2, 1, 0))
    await new Promise((r) => setTimeout(r, 100))
    // The header announces 1 + 4 PDU bytes (04 02 FF 85); only 2 of them follow.
    expect([...c.received().subarray(9)]).toEqual([0, 2, 0, 0, 0, 5, 1, 0x04, 0x02])
    expect(c.received().length).toBe(9 + MBAP_HEADER_BYTES + 2)
  })

  it('answers 04 for a unit that throws, and keeps serving the others', async () => {
    const broken: ModbusUnit = {
      turnaroundMs: 0,
      respond(): never {
        throw new Error('firmware bug')
      },
    }
    server = new ModbusTcpServer({ units: new Map<number, ModbusUnit>([[1, broken], [2, device()]]) })
    await server.start()
    const c = await rawMbapClient(server.port)
    clients.push(c)
    c.socket.write(Buffer.concat([read(1, 1, 0), read(2, 2, 0)]))
    const frames = await c.frames(2)
    expect(frames.map((f) => [...f.pdu])).toEqual([
      [0x84, 0x04],
      [0x04, 0x02, 0xff, 0x85],
    ])
    expect(server.stats.unitErrors).toBe(1)
  })

  it('stop() closes open connections and frees the port', async () => {
    const port = await serve([[1, device()]])
    const c = await rawMbapClient(port)
    clients.push(c)
    await server?.stop()
    expect(await c.closed()).toBe(true)
    await expect(rawMbapClient(port, 500)).rejects.toThrow()
  })
})
