/**
 * One `Transport` test suite run against every real peer, as MQTT.js runs its
 * abstract client suite per transport (`test/node/abstract_client.ts`): the
 * simulators' TCP and RTU servers and a pymodbus server. What differs between
 * peers (how they refuse, what a corrupted RTU answer looks like through a TCP
 * gateway) is declared by the peer, not guessed by the suite.
 */
import { afterEach, describe, expect, it, type TestContext } from 'vitest'
import { EXCEPTION_CODES } from '../../../shared/modbus/codes.ts'
import type { Table } from '../../../shared/profile/schema.ts'
import type { Fault } from '../../../simulators/device/faults.ts'
import type { DriverTransport } from '../registry.ts'
import type { Failure, ReadSpec } from '../transport.ts'
import { IMAGE_A, IMAGE_B } from './device-image.ts'

/** Response timeout of the fault tests, ms. */
export const FAULT_TIMEOUT_MS = 300
/** How late a timeout may be reported: timer granularity plus a loaded 2-core machine running other test files. */
export const TIMEOUT_SLACK_MS = 150
const OK_TIMEOUT_MS = 2000

export interface ContractPeer {
  /** Started, connected to the peer. */
  readonly transport: DriverTransport
  /** Serves IMAGE_A; its unmapped addresses are refused. */
  readonly unitA: number
  /** Serves IMAGE_B, and zeros up to the protocol's limits (125 registers, 2000 bits from address 0). */
  readonly unitB: number
  /** What the peer holds now, asked of the peer itself (its image, or an independent client). */
  held(unit: number, table: Table, start: number, count: number): Promise<readonly number[]>
  /** A read of unit A the peer answers with exception 02. */
  readonly refusedRead: ReadSpec
  /** A unit id nobody holds, and what asking it gives. */
  readonly unknownUnit: { readonly unit: number; readonly failure: Failure }
  /** Faults injected on unit A, for peers that misbehave on request. */
  readonly faults?: {
    set(fault: Fault): void
    /** What a corrupted answer (fault `bad-crc`) gives through this peer. */
    readonly badCrc: Failure
  }
  close(): Promise<void>
}

const TABLE_READS: readonly { table: Table; count: number }[] = [
  { table: 'coil', count: 4 },
  { table: 'discrete', count: 3 },
  { table: 'input', count: 5 },
  { table: 'holding', count: 5 },
]

/**
 * Registers the suite for one peer; `open` starts peer and transport (or skips the
 * test when a tool is missing). `faults: true` adds the fault tests; such a peer
 * must provide `faults`.
 */
export function transportContract(name: string, caps: { readonly faults: boolean }, open: (ctx: TestContext) => Promise<ContractPeer>): void {
  describe(`Transport contract: ${name}`, () => {
    let peer: ContractPeer | undefined
    afterEach(async () => {
      await peer?.close()
      peer = undefined
    })
    const use = async (ctx: TestContext): Promise<ContractPeer> => (peer = await open(ctx))

    it('reads every table, values equal to each unit’s image', async (ctx) => {
      const p = await use(ctx)
      for (const [unit, image] of [
        [p.unitA, IMAGE_A],
        [p.unitB, IMAGE_B],
      ] as const) {
        for (const { table, count } of TABLE_READS) {
          const r = await p.transport.read(unit, { table, start: 0, count }, OK_TIMEOUT_MS)
          expect(r, `unit ${unit} ${table}`).toMatchObject({ ok: true, data: image[table].slice(0, count) })
        }
      }
      // A read from the middle of a table.
      expect(await p.transport.read(p.unitA, { table: 'input', start: 1, count: 3 }, OK_TIMEOUT_MS)).toMatchObject({ ok: true, data: [0xabcd, 0, 0xffff] })
      expect(p.transport.stats).toMatchObject({ requests: 9, ok: 9, failures: { exception: 0, timeout: 0, crc: 0, transport: 0 } })
    })

    it('reads up to the limits: 125 registers, 2000 bits', async (ctx) => {
      const p = await use(ctx)
      const regs = await p.transport.read(p.unitB, { table: 'holding', start: 0, count: 125 }, OK_TIMEOUT_MS)
      expect(regs).toMatchObject({ ok: true, data: [...IMAGE_B.holding, ...Array<number>(120).fill(0)] })
      const bits = await p.transport.read(p.unitB, { table: 'coil', start: 0, count: 2000 }, OK_TIMEOUT_MS)
      expect(bits).toMatchObject({ ok: true, data: [...IMAGE_B.coil, ...Array<number>(1996).fill(0)] })
    })

    it('writes with FC05, FC06, FC15 and FC16, and they land', async (ctx) => {
      const p = await use(ctx)
      const t = p.transport
      expect(await t.write(p.unitA, 'coil', 1, [1], OK_TIMEOUT_MS)).toMatchObject({ ok: true })
      expect(await p.held(p.unitA, 'coil', 0, 4)).toEqual([1, 1, 1, 0])
      expect(await t.write(p.unitA, 'holding', 2, [0xbeef], OK_TIMEOUT_MS)).toMatchObject({ ok: true })
      expect(await p.held(p.unitA, 'holding', 0, 4)).toEqual([100, 200, 0xbeef, 400])
      expect(await t.write(p.unitA, 'coil', 0, [0, 0, 1, 1], OK_TIMEOUT_MS)).toMatchObject({ ok: true })
      expect(await p.held(p.unitA, 'coil', 0, 4)).toEqual([0, 0, 1, 1])
      expect(await t.write(p.unitA, 'holding', 0, [1, 2, 3, 65535], OK_TIMEOUT_MS)).toMatchObject({ ok: true })
      expect(await p.held(p.unitA, 'holding', 0, 4)).toEqual([1, 2, 3, 65535])
      // Unit B untouched.
      expect(await p.held(p.unitB, 'holding', 0, 4)).toEqual(IMAGE_B.holding.slice(0, 4))
    })

    it('a refused address is exception 02, counted by code', async (ctx) => {
      const p = await use(ctx)
      const r = await p.transport.read(p.unitA, p.refusedRead, OK_TIMEOUT_MS)
      expect(r).toMatchObject({ ok: false, failure: { kind: 'exception', code: 0x02 } })
      expect(p.transport.stats.exceptionCodes).toEqual({ 2: 1 })
    })

    it('a unit id nobody holds gives what the peer does with it, and the next request is served', async (ctx) => {
      const p = await use(ctx)
      const r = await p.transport.read(p.unknownUnit.unit, { table: 'holding', start: 0, count: 1 }, FAULT_TIMEOUT_MS)
      expect(r).toMatchObject({ ok: false, failure: p.unknownUnit.failure })
      expect(await p.transport.read(p.unitA, { table: 'holding', start: 0, count: 1 }, OK_TIMEOUT_MS)).toMatchObject({ ok: true, data: [100] })
    })

    it('refuses a request outside the protocol’s limits before it reaches the wire', async (ctx) => {
      const p = await use(ctx)
      await expect(p.transport.read(p.unitA, { table: 'holding', start: 0, count: 126 }, OK_TIMEOUT_MS)).rejects.toThrow(RangeError)
      await expect(p.transport.write(p.unitA, 'holding', 0, [70000], OK_TIMEOUT_MS)).rejects.toThrow(RangeError)
      expect(p.transport.stats.requests).toBe(0)
    })

    if (caps.faults) faultTests(use)
  })
}

function faultTests(use: (ctx: TestContext) => Promise<ContractPeer>): void {
  describe('device faults', () => {
    it('each exception code surfaces as { kind: exception, code }', async (ctx) => {
      const p = await use(ctx)
      if (!p.faults) throw new Error('a peer registered with faults: true must provide faults')
      for (const code of EXCEPTION_CODES) {
        p.faults.set({ kind: 'exception', code })
        expect(await p.transport.read(p.unitA, { table: 'input', start: 0, count: 1 }, OK_TIMEOUT_MS)).toMatchObject({ ok: false, failure: { kind: 'exception', code } })
        expect(await p.transport.write(p.unitA, 'holding', 0, [1, 2], OK_TIMEOUT_MS)).toMatchObject({ ok: false, failure: { kind: 'exception', code } })
      }
      expect(p.transport.stats.exceptionCodes).toEqual(Object.fromEntries(EXCEPTION_CODES.map((c) => [c, 2])))
    })

    it('no response: timeout within the timeout, and the next request to another unit is answered at once', async (ctx) => {
      const p = await use(ctx)
      if (!p.faults) throw new Error('a peer registered with faults: true must provide faults')
      p.faults.set({ kind: 'no-response' })
      const t0 = performance.now()
      const dead = await p.transport.read(p.unitA, { table: 'input', start: 0, count: 5 }, FAULT_TIMEOUT_MS)
      const took = performance.now() - t0
      expect(dead).toMatchObject({ ok: false, failure: { kind: 'timeout' } })
      expect(took).toBeGreaterThanOrEqual(FAULT_TIMEOUT_MS - 2)
      expect(took).toBeLessThan(FAULT_TIMEOUT_MS + TIMEOUT_SLACK_MS)
      const t1 = performance.now()
      expect(await p.transport.read(p.unitB, { table: 'input', start: 0, count: 5 }, OK_TIMEOUT_MS)).toMatchObject({ ok: true, data: IMAGE_B.input })
      expect(performance.now() - t1).toBeLessThan(100)
    })

    it('a dead unit costs exactly one timeout per request sent to it, never more', async (ctx) => {
      const p = await use(ctx)
      if (!p.faults) throw new Error('a peer registered with faults: true must provide faults')
      p.faults.set({ kind: 'no-response' })
      const spec = { table: 'holding', start: 0, count: 4 } as const
      const t0 = performance.now()
      const [a1, b1, a2, b2] = await Promise.all([
        p.transport.read(p.unitA, spec, FAULT_TIMEOUT_MS),
        p.transport.read(p.unitB, spec, FAULT_TIMEOUT_MS),
        p.transport.read(p.unitA, spec, FAULT_TIMEOUT_MS),
        p.transport.read(p.unitB, spec, FAULT_TIMEOUT_MS),
      ])
      const took = performance.now() - t0
      expect([a1, a2].map((r) => !r.ok && r.failure.kind)).toEqual(['timeout', 'timeout'])
      expect([b1, b2]).toMatchObject([
        { ok: true, data: IMAGE_B.holding.slice(0, 4) },
        { ok: true, data: IMAGE_B.holding.slice(0, 4) },
      ])
      expect(took).toBeLessThan(2 * FAULT_TIMEOUT_MS + TIMEOUT_SLACK_MS)
      expect(p.transport.stats.failures.timeout).toBe(2)
    })

    it('a corrupted answer gives what the peer declares (RTU: crc; through a TCP gateway: exception 0B)', async (ctx) => {
      const p = await use(ctx)
      if (!p.faults) throw new Error('a peer registered with faults: true must provide faults')
      p.faults.set({ kind: 'bad-crc' })
      const t0 = performance.now()
      const r = await p.transport.read(p.unitA, { table: 'input', start: 0, count: 5 }, FAULT_TIMEOUT_MS)
      expect(r).toMatchObject({ ok: false, failure: p.faults.badCrc })
      // Reported when the answer arrives, not at the timeout.
      expect(performance.now() - t0).toBeLessThan(FAULT_TIMEOUT_MS)
      p.faults.set({ kind: 'none' })
      expect(await p.transport.read(p.unitA, { table: 'input', start: 0, count: 1 }, OK_TIMEOUT_MS)).toMatchObject({ ok: true, data: [0x1234] })
    })

    it('a truncated answer is a timeout (its length is known, the rest never comes), and the line recovers', async (ctx) => {
      const p = await use(ctx)
      if (!p.faults) throw new Error('a peer registered with faults: true must provide faults')
      p.faults.set({ kind: 'truncated' })
      const t0 = performance.now()
      const r = await p.transport.read(p.unitA, { table: 'input', start: 0, count: 5 }, FAULT_TIMEOUT_MS)
      expect(r).toMatchObject({ ok: false, failure: { kind: 'timeout' } })
      expect(performance.now() - t0).toBeLessThan(FAULT_TIMEOUT_MS + TIMEOUT_SLACK_MS)
      expect(await p.transport.read(p.unitB, { table: 'input', start: 0, count: 5 }, OK_TIMEOUT_MS)).toMatchObject({ ok: true, data: IMAGE_B.input })
    })
  })
}
