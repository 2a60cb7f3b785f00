/**
 * The Modbus TCP driver against real peers: the simulators' gateway server, a
 * pymodbus 3.0 server, and scripted raw servers for what those cannot do on
 * request (out-of-order answers, late answers, broken frames, restarts).
 */
import { createServer, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeMbap } from '../../shared/modbus/mbap.ts'
import type { Table } from '../../shared/profile/schema.ts'
import { BINARIES, requireBinary } from '../../shared/test-support/binaries.ts'
import { ModbusTcpServer } from '../../simulators/modbus/tcp-server.ts'
import { pymodbus } from '../../simulators/test-support/pymodbus.ts'
import { ModbusTcpTransport, type TcpTransportOptions } from './modbus-tcp.ts'
import { IMAGE_A, IMAGE_B, pyImage, simulatedDevice } from './test-support/device-image.ts'
import { startPymodbusServer } from './test-support/pymodbus-server.ts'
import { rawTcpServer, type RawTcpServer, type Script } from './test-support/raw-tcp-server.ts'
import { transportContract } from './test-support/transport-contract.ts'

transportContract('Modbus TCP ↔ simulators ModbusTcpServer (a gateway, two units behind one port)', { faults: true }, async () => {
  const a = simulatedDevice(IMAGE_A)
  const b = simulatedDevice(IMAGE_B, 'zeros')
  const server = new ModbusTcpServer({
    units: new Map([
      [1, a],
      [2, b],
    ]),
  })
  await server.start()
  const transport = new ModbusTcpTransport({ host: '127.0.0.1', port: server.port, concurrency: 1, reconnectMinMs: 50 })
  await transport.start()
  return {
    transport,
    unitA: 1,
    unitB: 2,
    held: async (unit, table, start, count) => (unit === 1 ? a : b).words(table, start, count),
    refusedRead: { table: 'input', start: 0, count: 6 },
    // tcp-server.ts: an unknown unit gets 0B, what a gateway answers.
    unknownUnit: { unit: 9, failure: { kind: 'exception', code: 0x0b } },
    // tcp-server.ts: a gateway discards a corrupted RTU answer and reports 0B.
    faults: { set: (f) => a.setFault(f), badCrc: { kind: 'exception', code: 0x0b } },
    close: async () => {
      await transport.stop()
      await server.stop()
    },
  }
})

const PY_METHODS: Record<Table, string> = {
  coil: 'read_coils',
  discrete: 'read_discrete_inputs',
  holding: 'read_holding_registers',
  input: 'read_input_registers',
}

transportContract('Modbus TCP ↔ pymodbus 3.0 server', { faults: false }, async (ctx) => {
  requireBinary(ctx, BINARIES.pymodbus)
  const server = await startPymodbusServer({ units: { 1: pyImage(IMAGE_A), 2: pyImage(IMAGE_B) } })
  const transport = new ModbusTcpTransport({ host: '127.0.0.1', port: server.port, concurrency: 1 })
  await transport.start()
  return {
    transport,
    unitA: 1,
    unitB: 2,
    // Read back with pymodbus's own client: a second third-party opinion on what landed.
    held: async (unit, table, start, count) => {
      const r = await pymodbus({ transport: { tcp: { port: server.port } }, method: PY_METHODS[table], address: start, arg: count, slave: unit })
      if (!r.ok || !('registers' in r || 'bits' in r)) throw new Error(`pymodbus read failed: ${JSON.stringify(r)}`)
      return table === 'coil' || table === 'discrete' ? (r.bits ?? []).slice(0, count).map(Number) : (r.registers ?? [])
    },
    refusedRead: { table: 'input', start: 1990, count: 20 },
    // pymodbus 3.0's socket framer drops frames for unit ids its context lacks: the client times out.
    unknownUnit: { unit: 9, failure: { kind: 'timeout' } },
    close: async () => {
      await transport.stop()
      await server.stop()
    },
  }
})

describe('pymodbus 3.0 server: exception 04', () => {
  let stop: (() => Promise<void>) | undefined
  afterEach(async () => {
    await stop?.()
    stop = undefined
  })

  it('a datastore that fails gives exception 04, server device failure', async (ctx) => {
    requireBinary(ctx, BINARIES.pymodbus)
    const server = await startPymodbusServer({ units: { 1: pyImage(IMAGE_A) }, failing: [3] })
    const transport = new ModbusTcpTransport({ host: '127.0.0.1', port: server.port })
    stop = async () => {
      await transport.stop()
      await server.stop()
    }
    await transport.start()
    expect(await transport.read(3, { table: 'holding', start: 0, count: 2 }, 2000)).toMatchObject({ ok: false, failure: { kind: 'exception', code: 0x04 } })
    expect(await transport.read(1, { table: 'holding', start: 0, count: 2 }, 2000)).toMatchObject({ ok: true, data: [100, 200] })
  })
})

/** An answer to an FC03 request of `count` registers, each `value(address)`. */
function registers(frame: { transactionId: number; unitId: number; pdu: Uint8Array }, value: (address: number) => number): Uint8Array {
  const start = ((frame.pdu[1] ?? 0) << 8) | (frame.pdu[2] ?? 0)
  const count = ((frame.pdu[3] ?? 0) << 8) | (frame.pdu[4] ?? 0)
  const pdu = new Uint8Array(2 + 2 * count)
  pdu[0] = 0x03
  pdu[1] = 2 * count
  for (let i = 0; i < count; i++) {
    const v = value(start + i)
    pdu[2 + 2 * i] = v >>> 8
    pdu[3 + 2 * i] = v & 0xff
  }
  return encodeMbap({ transactionId: frame.transactionId, unitId: frame.unitId, pdu })
}

/** Value the scripted servers serve: unit and address both visible, so a swapped answer cannot pass. */
const valueOf = (unit: number, address: number): number => unit * 1000 + address

describe('Modbus TCP driver against scripted servers', () => {
  let raw: RawTcpServer | undefined
  let transport: ModbusTcpTransport | undefined
  let sim: ModbusTcpServer | undefined
  afterEach(async () => {
    await transport?.stop()
    await raw?.stop()
    await sim?.stop()
    raw = transport = sim = undefined
  })

  async function connectTo(script: Script, opts: Partial<TcpTransportOptions> = {}): Promise<ModbusTcpTransport> {
    raw = await rawTcpServer(script)
    transport = new ModbusTcpTransport({ host: '127.0.0.1', port: raw.port, ...opts })
    await transport.start()
    return transport
  }

  const hold = (start: number, count = 1) => ({ table: 'holding' as const, start, count })

  it('concurrency 4: four requests really in flight, answered in reverse order, each matched by transaction id', async () => {
    const held: Parameters<Script>[] = []
    // Answer nothing until 4 requests are in, then the 4th first and the 1st last.
    const t = await connectTo(
      (frame, reply, socket) => {
        held.push([frame, reply, socket])
        if (held.length === 4) for (const [f, r] of held.splice(0).reverse()) r(registers(f, (a) => valueOf(f.unitId, a)))
      },
      { concurrency: 4 },
    )
    const reads = Array.from({ length: 8 }, (_, i) => t.read(1 + (i % 3), hold(10 * i, 2), 2000))
    const results = await Promise.all(reads)
    results.forEach((r, i) => expect(r, `read ${i}`).toMatchObject({ ok: true, data: [valueOf(1 + (i % 3), 10 * i), valueOf(1 + (i % 3), 10 * i + 1)] }))
    expect(raw?.maxOutstanding).toBe(4)
    expect(raw?.requests.map((f) => f.transactionId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
  })

  it('concurrency 1: strictly one request at a time, in FIFO order', async () => {
    const t = await connectTo((frame, reply) => setTimeout(() => reply(registers(frame, (a) => valueOf(frame.unitId, a))), 5))
    const results = await Promise.all([0, 1, 2, 3].map((i) => t.read(7, hold(i), 2000)))
    expect(results.map((r) => r.ok && r.data[0])).toEqual([7000, 7001, 7002, 7003])
    expect(raw?.maxOutstanding).toBe(1)
    expect(raw?.requests.map((f) => (f.pdu[2] ?? 0) + (f.unitId << 8))).toEqual([0x700, 0x701, 0x702, 0x703])
  })

  it('a late answer to a timed-out transaction is discarded, even while another request is in flight', async () => {
    // Address 0 is answered after 250 ms (its request times out at 100); address 1 after 200 ms,
    // so the late answer arrives while the second request waits.
    const t = await connectTo((frame, reply) => {
      const start = frame.pdu[2] ?? 0
      setTimeout(() => reply(registers(frame, (a) => valueOf(frame.unitId, a))), start === 0 ? 250 : 200)
    })
    const first = await t.read(1, hold(0), 100)
    expect(first).toMatchObject({ ok: false, failure: { kind: 'timeout' } })
    const second = await t.read(1, hold(1), 2000)
    expect(second).toMatchObject({ ok: true, data: [1001] })
    expect(t.stats.extra).toMatchObject({ lateResponses: 1, connects: 1, streamResets: 0 })
  })

  it.each([
    {
      why: 'another unit id',
      answer: (f: { transactionId: number; unitId: number; pdu: Uint8Array }) => registers({ ...f, unitId: f.unitId + 1 }, () => 1),
      detail: /^mismatched response: unit id 2, expected 1$/,
    },
    {
      why: 'a byte count that does not fit the quantity',
      answer: (f: { transactionId: number; unitId: number; pdu: Uint8Array }) =>
        encodeMbap({ transactionId: f.transactionId, unitId: f.unitId, pdu: Uint8Array.of(0x03, 4, 0, 1, 0, 2) }),
      detail: /^mismatched response: byte count 4, expected 2/,
    },
    {
      why: 'another function code',
      answer: (f: { transactionId: number; unitId: number; pdu: Uint8Array }) => encodeMbap({ transactionId: f.transactionId, unitId: f.unitId, pdu: Uint8Array.of(0x04, 2, 0, 1) }),
      detail: /^mismatched response: function code 0x04, expected 0x03/,
    },
  ])('an answer with $why is a crc-kind failure "mismatched response"', async ({ answer, detail }) => {
    const t = await connectTo((frame, reply) => reply(answer(frame)))
    const r = await t.read(1, hold(0), 1000)
    expect(r.ok).toBe(false)
    expect(!r.ok && r.failure).toMatchObject({ kind: 'crc', detail: expect.stringMatching(detail) })
  })

  it('a header with an impossible length resets the connection; the next request reconnects', async () => {
    let n = 0
    const t = await connectTo(
      (frame, reply) => {
        if (n++ === 0) reply(Uint8Array.of(frame.transactionId >> 8, frame.transactionId & 0xff, 0, 0, 0x01, 0x00, frame.unitId))
        else reply(registers(frame, (a) => valueOf(frame.unitId, a)))
      },
      { reconnectMinMs: 0 },
    )
    const r = await t.read(1, hold(0), 1000)
    expect(r).toMatchObject({ ok: false, failure: { kind: 'crc', detail: expect.stringMatching(/malformed frame: MBAP length 256/) } })
    expect(await t.read(1, hold(3), 1000)).toMatchObject({ ok: true, data: [1003] })
    expect(raw?.connections).toBe(2)
    expect(t.stats.extra.streamResets).toBe(1)
  })

  it('frames with a protocol id other than 0 are dropped (Implementation Guide §3.1.3)', async () => {
    const t = await connectTo((frame, reply) => {
      const good = registers(frame, (a) => valueOf(frame.unitId, a))
      const foreign = good.slice()
      foreign[3] = 1
      reply(Uint8Array.from([...foreign, ...good]))
    })
    expect(await t.read(1, hold(4), 1000)).toMatchObject({ ok: true, data: [1004] })
    expect(t.stats.extra.droppedFrames).toBe(1)
  })

  it('connection refused: start() rejects and requests fail with transport at once, without hammering', async () => {
    const port = await freePort()
    transport = new ModbusTcpTransport({ host: '127.0.0.1', port, reconnectMinMs: 5000 })
    const t0 = performance.now()
    await expect(transport.start()).rejects.toThrow(/ECONNREFUSED/)
    const results = await Promise.all(Array.from({ length: 10 }, () => transport!.read(1, hold(0), 3000)))
    expect(performance.now() - t0).toBeLessThan(500)
    for (const r of results) expect(r).toMatchObject({ ok: false, failure: { kind: 'transport', detail: expect.stringMatching(/ECONNREFUSED.*next attempt in \d+ ms/) } })
    expect(transport.stats.extra).toMatchObject({ connectFailures: 1, connects: 0 })
    expect(transport.stats.failures.transport).toBe(10)
  })

  it('the first request after the interval tries again, and fails fast while the port is still closed', async () => {
    const port = await freePort()
    transport = new ModbusTcpTransport({ host: '127.0.0.1', port, reconnectMinMs: 30 })
    await expect(transport.start()).rejects.toThrow(/ECONNREFUSED/)
    await new Promise((r) => setTimeout(r, 40))
    const t0 = performance.now()
    expect(await transport.read(1, hold(0), 3000)).toMatchObject({ ok: false, failure: { kind: 'transport', detail: 'ECONNREFUSED' } })
    expect(performance.now() - t0).toBeLessThan(200)
    expect(transport.stats.extra.connectFailures).toBe(2)
  })

  it('server restart: the driver reconnects on demand', async () => {
    const device = simulatedDevice(IMAGE_A)
    sim = new ModbusTcpServer({ units: new Map([[1, device]]) })
    await sim.start()
    const port = sim.port
    transport = new ModbusTcpTransport({ host: '127.0.0.1', port, reconnectMinMs: 50 })
    await transport.start()
    expect(await transport.read(1, hold(0), 1000)).toMatchObject({ ok: true, data: [100] })
    await sim.stop()
    const down = await transport.read(1, hold(0), 1000)
    expect(down).toMatchObject({ ok: false, failure: { kind: 'transport' } })
    expect(down.latencyMs).toBeLessThan(200)
    sim = new ModbusTcpServer({ units: new Map([[1, device]]), port })
    await sim.start()
    const deadline = performance.now() + 3000
    let up = await transport.read(1, hold(1), 1000)
    while (!up.ok && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20))
      up = await transport.read(1, hold(1), 1000)
    }
    expect(up).toMatchObject({ ok: true, data: [200] })
    expect(transport.stats.extra.connects).toBe(2)
  })

  it('a bounded queue: beyond maxQueue, requests fail at once', async () => {
    const t = await connectTo(() => {}, { maxQueue: 2 })
    const pending = [0, 1, 2].map((i) => t.read(1, hold(i), 5000))
    expect(await t.read(1, hold(3), 5000)).toMatchObject({ ok: false, failure: { kind: 'transport', detail: 'queue full (2 requests waiting)' } })
    expect(t.stats).toMatchObject({ queued: 2, inFlight: 1 })
    await t.stop()
    for (const r of await Promise.all(pending)) expect(r).toMatchObject({ ok: false, failure: { kind: 'transport', detail: 'transport stopped' } })
  })

  it('stop() ends requests in flight and queued at once; requests after it fail with transport', async () => {
    const t = await connectTo(() => {}, { concurrency: 2 })
    const pending = [0, 1, 2, 3].map((i) => t.read(1, hold(i), 10_000))
    await new Promise((r) => setTimeout(r, 20))
    const t0 = performance.now()
    await t.stop()
    const results = await Promise.all(pending)
    expect(performance.now() - t0).toBeLessThan(500)
    for (const r of results) expect(r).toMatchObject({ ok: false, failure: { kind: 'transport', detail: 'transport stopped' } })
    expect(await t.read(1, hold(0), 1000)).toMatchObject({ ok: false, failure: { kind: 'transport', detail: 'transport not started' } })
  })

  it('counts answered latencies for /metrics', async () => {
    const t = await connectTo((frame, reply) => reply(registers(frame, () => 1)))
    for (let i = 0; i < 5; i++) await t.read(1, hold(i), 1000)
    const s = t.stats
    expect(s.latency.count).toBe(5)
    expect(s.latency.recentMs).toHaveLength(5)
    expect(s.latency.maxMs).toBeGreaterThan(0)
    expect(s.latency.sumMs).toBeGreaterThanOrEqual(s.latency.maxMs)
  })
})

/** A port nothing listens on: bound once, then closed. */
async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}
