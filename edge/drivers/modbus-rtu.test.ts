/**
 * The Modbus RTU driver on one end of a socat pty pair; on the other end the
 * simulators' wire-timed RTU server, or a scripted slave for noise, late answers
 * and malformed frames.
 */
import { afterEach, describe, expect, it, type TestContext } from 'vitest'
import { encodeRtu } from '../../shared/modbus/rtu-frame.ts'
import { interFrameGapMs } from '../../shared/modbus/rtu-timing.ts'
import { BINARIES, requireBinary } from '../../shared/test-support/binaries.ts'
import { ModbusRtuServer } from '../../simulators/modbus/rtu-server.ts'
import { openPtyPair, type PtyPair } from '../../simulators/modbus/pty-pair.ts'
import { ModbusRtuTransport, type RtuTransportOptions } from './modbus-rtu.ts'
import { IMAGE_A, IMAGE_B, simulatedDevice } from './test-support/device-image.ts'
import { scriptedSlave, type ScriptedSlave, type SlaveScript } from './test-support/scripted-slave.ts'
import { transportContract } from './test-support/transport-contract.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(s.split(' ').map((h) => parseInt(h, 16)))

transportContract('Modbus RTU ↔ simulators ModbusRtuServer over a socat pty pair (wire-timed, 38400 8E1)', { faults: true }, async (ctx) => {
  requireBinary(ctx, BINARIES.socat)
  const pty = await openPtyPair()
  const a = simulatedDevice(IMAGE_A)
  const b = simulatedDevice(IMAGE_B, 'zeros')
  const server = new ModbusRtuServer({
    units: new Map([
      [1, a],
      [2, b],
    ]),
    path: pty.a,
    baudRate: 38400,
    parity: 'even',
  })
  const transport = new ModbusRtuTransport({ path: pty.b, baud: 38400, parity: 'even' })
  try {
    await server.start()
    await transport.start()
  } catch (err) {
    await transport.stop()
    await server.stop()
    await pty.close()
    throw err
  }
  return {
    transport,
    unitA: 1,
    unitB: 2,
    held: async (unit, table, start, count) => (unit === 1 ? a : b).words(table, start, count),
    refusedRead: { table: 'input', start: 0, count: 6 },
    // Modbus over Serial Line v1.02 §2.2: a frame for an address no slave has is answered by nobody.
    unknownUnit: { unit: 9, failure: { kind: 'timeout' } },
    faults: { set: (f) => a.setFault(f), badCrc: { kind: 'crc', detail: 'CRC mismatch in the 15-byte answer of unit 1 (FC 0x04)' } },
    close: async () => {
      await transport.stop()
      await server.stop()
      await pty.close()
    },
  }
})

describe('Modbus RTU driver against a scripted slave', () => {
  let pty: PtyPair | undefined
  let slave: ScriptedSlave | undefined
  let transport: ModbusRtuTransport | undefined
  afterEach(async () => {
    await transport?.stop()
    await slave?.stop()
    await pty?.close()
    pty = slave = transport = undefined
  })

  async function line(ctx: TestContext, script: SlaveScript, opts: Partial<RtuTransportOptions> = {}): Promise<ModbusRtuTransport> {
    requireBinary(ctx, BINARIES.socat)
    pty = await openPtyPair()
    slave = await scriptedSlave(pty.a, opts.baud ?? 38400, script)
    transport = new ModbusRtuTransport({ path: pty.b, baud: 38400, parity: 'even', ...opts })
    await transport.start()
    return transport
  }

  /** Unit `unit`'s answer to an FC03/FC04 read of one register holding `value`. */
  const oneRegister = (unit: number, fc: number, value: number): Uint8Array => encodeRtu(unit, Uint8Array.of(fc, 2, value >> 8, value & 0xff))

  it('keeps t3.5 of silence (4.01 ms at 9600 8E1) between an answer and the next request', async (ctx) => {
    const t = await line(ctx, (frame, reply) => reply(oneRegister(frame.unitId, frame.pdu[0] ?? 0, 1)), { baud: 9600 })
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => t.read(1 + (i % 2), { table: 'holding', start: i, count: 1 }, 1000)))
    expect(results.every((r) => r.ok)).toBe(true)
    const s = slave!
    expect(s.requests).toHaveLength(5)
    const gap = interFrameGapMs(9600, 11)
    expect(gap).toBeCloseTo(4.01, 2)
    for (let i = 1; i < 5; i++) expect(s.requests[i]!.at - s.writes[i - 1]!, `gap before request ${i}`).toBeGreaterThanOrEqual(gap)
  })

  it('exactly one request on the line at a time, in FIFO order', async (ctx) => {
    let answered = 0
    const t = await line(ctx, (frame, reply, i) => {
      // Were a second request sent before this answer, it would show as a request with index > answered.
      expect(i).toBe(answered)
      setTimeout(() => {
        answered++
        reply(oneRegister(frame.unitId, 0x03, frame.pdu[2] ?? 0))
      }, 5)
    })
    const results = await Promise.all([3, 1, 4, 1, 5].map((a, i) => t.read(1 + i, { table: 'holding', start: a, count: 1 }, 1000)))
    expect(results.map((r) => r.ok && r.data[0])).toEqual([3, 1, 4, 1, 5])
    expect(slave!.requests.map((r) => r.frame.unitId)).toEqual([1, 2, 3, 4, 5])
    expect(t.stats).toMatchObject({ queued: 0, inFlight: 0, ok: 5 })
  })

  it('skips noise in front of the answer and counts it', async (ctx) => {
    const t = await line(ctx, (frame, reply) => reply(Uint8Array.from([0xff, 0x00, 0x13, ...oneRegister(frame.unitId, 0x04, 0x0a0b)])))
    expect(await t.read(1, { table: 'input', start: 0, count: 1 }, 1000)).toMatchObject({ ok: true, data: [0x0a0b] })
    expect(t.stats.extra.garbageBytes).toBe(3)
  })

  it("skips a dead slave's late answer arriving behind the next request, and answers that request", async (ctx) => {
    // Unit 1 answers nothing in time; when unit 2 is asked, unit 1's late answer goes first on the line.
    const t = await line(ctx, (frame, reply, i) => {
      if (i === 0) return
      reply(Uint8Array.from([...oneRegister(1, 0x03, 0xdead), ...oneRegister(2, 0x04, 0x0222)]))
    })
    expect(await t.read(1, { table: 'holding', start: 0, count: 1 }, 100)).toMatchObject({ ok: false, failure: { kind: 'timeout' } })
    expect(await t.read(2, { table: 'input', start: 0, count: 1 }, 1000)).toMatchObject({ ok: true, data: [0x0222] })
    expect(t.stats.extra.staleFrames).toBe(1)
  })

  it('discards a late answer that arrives while the line is idle; the next request to the same unit gets its own answer', async (ctx) => {
    const t = await line(ctx, (frame, reply, i) => {
      if (i === 0) setTimeout(() => reply(oneRegister(1, 0x03, 0xdead)), 150)
      else reply(oneRegister(1, 0x03, 0x0bee))
    })
    expect(await t.read(1, { table: 'holding', start: 0, count: 1 }, 100)).toMatchObject({ ok: false, failure: { kind: 'timeout' } })
    await new Promise((r) => setTimeout(r, 100))
    expect(await t.read(1, { table: 'holding', start: 0, count: 1 }, 1000)).toMatchObject({ ok: true, data: [0x0bee] })
    expect(t.stats.extra.garbageBytes).toBe(7)
  })

  it('a valid frame that does not fit its request is a crc-kind failure "mismatched response"', async (ctx) => {
    const t = await line(ctx, (frame, reply) => {
      if (frame.pdu[0] === 0x03) reply(encodeRtu(frame.unitId, hex('03 04 00 01 00 02')))
      else reply(encodeRtu(frame.unitId, hex('06 00 00 00 09')))
    })
    expect(await t.read(1, { table: 'holding', start: 0, count: 1 }, 1000)).toMatchObject({
      ok: false,
      failure: { kind: 'crc', detail: 'mismatched response: byte count 4, expected 2 for 1 registers' },
    })
    expect(await t.write(1, 'holding', 0, [7], 1000)).toMatchObject({
      ok: false,
      failure: { kind: 'crc', detail: 'mismatched response: echo 06 00 00 00 09 differs from request 06 00 00 00 07' },
    })
  })

  it('a corrupted answer behind noise is reported as crc at the timeout, not as a bare timeout', async (ctx) => {
    const t = await line(ctx, (frame, reply) => {
      const bad = oneRegister(frame.unitId, 0x04, 5)
      bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0x55
      reply(Uint8Array.from([0xff, 0xff, ...bad]))
    })
    expect(await t.read(1, { table: 'input', start: 0, count: 1 }, 100)).toMatchObject({
      ok: false,
      failure: { kind: 'crc', detail: 'CRC mismatch in the 7-byte answer of unit 1 (FC 0x04)' },
    })
  })

  it('a bounded queue, and stop() ends the current and queued requests at once', async (ctx) => {
    const t = await line(ctx, () => {}, { maxQueue: 2 })
    const pending = [0, 1, 2].map((i) => t.read(1, { table: 'holding', start: i, count: 1 }, 10_000))
    expect(await t.read(1, { table: 'holding', start: 3, count: 1 }, 10_000)).toMatchObject({ ok: false, failure: { kind: 'transport', detail: 'queue full (2 requests waiting)' } })
    await new Promise((r) => setTimeout(r, 20))
    const t0 = performance.now()
    await t.stop()
    for (const r of await Promise.all(pending)) expect(r).toMatchObject({ ok: false, failure: { kind: 'transport', detail: 'transport stopped' } })
    expect(performance.now() - t0).toBeLessThan(500)
  })

  it('refuses unit ids outside 1..247 (0 is broadcast, which gets no answer)', async (ctx) => {
    const t = await line(ctx, () => {})
    await expect(t.read(0, { table: 'holding', start: 0, count: 1 }, 100)).rejects.toThrow(/unit id 0 is not 1\.\.247/)
    await expect(t.read(248, { table: 'holding', start: 0, count: 1 }, 100)).rejects.toThrow(RangeError)
  })
})

describe('Modbus RTU driver when the port fails', () => {
  let transport: ModbusRtuTransport | undefined
  let pty: PtyPair | undefined
  afterEach(async () => {
    await transport?.stop()
    await pty?.close()
    transport = pty = undefined
  })

  it('a port that cannot be opened: start() rejects, requests fail with transport at once, one attempt per interval', async () => {
    transport = new ModbusRtuTransport({ path: '/dev/muni-no-such-port', baud: 9600, parity: 'even', reopenMinMs: 5000 })
    await expect(transport.start()).rejects.toThrow(/muni-no-such-port/)
    const t0 = performance.now()
    const results = await Promise.all(Array.from({ length: 5 }, () => transport!.read(1, { table: 'holding', start: 0, count: 1 }, 3000)))
    expect(performance.now() - t0).toBeLessThan(200)
    for (const r of results) expect(r).toMatchObject({ ok: false, failure: { kind: 'transport', detail: expect.stringMatching(/^port not open \(.*\); next attempt in \d+ ms$/) } })
    expect(transport.stats.extra).toMatchObject({ openFailures: 1, opens: 0 })
  })

  it('the line going away fails the request on it with transport, not after its timeout', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    pty = await openPtyPair()
    transport = new ModbusRtuTransport({ path: pty.b, baud: 38400, parity: 'even', reopenMinMs: 5000 })
    await transport.start()
    const pending = transport.read(1, { table: 'holding', start: 0, count: 1 }, 5000)
    await new Promise((r) => setTimeout(r, 30))
    const t0 = performance.now()
    await pty.close()
    const r = await pending
    expect(r).toMatchObject({ ok: false, failure: { kind: 'transport' } })
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(await transport.read(1, { table: 'holding', start: 0, count: 1 }, 5000)).toMatchObject({ ok: false, failure: { kind: 'transport' } })
  })
})
