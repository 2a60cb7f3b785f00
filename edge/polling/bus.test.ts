import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ReadResult, ReadSpec, Transport, WriteResult } from '../drivers/transport.ts'
import { Bus, BusBusyError, BusStoppedError, type DeviceLink } from './bus.ts'

/** A transport whose answers the test releases one by one; it records the order of requests. */
class GateTransport implements Transport {
  readonly calls: string[] = []
  readonly pending: { label: string; release: (r: ReadResult) => void }[] = []
  starts = 0
  stops = 0
  inFlight = 0
  maxInFlight = 0
  async start(): Promise<void> {
    this.starts++
  }
  async stop(): Promise<void> {
    this.stops++
  }
  read(unit: number, spec: ReadSpec): Promise<ReadResult> {
    return this.hold(`r${unit}:${spec.start}`)
  }
  write(unit: number, _t: 'holding' | 'coil', start: number): Promise<WriteResult> {
    return this.hold(`w${unit}:${start}`) as Promise<WriteResult>
  }
  /** Answers the oldest pending request (data [0]); resolves once the bus has had time to react. */
  async releaseNext(r: ReadResult = { ok: true, data: [0], latencyMs: 0 }): Promise<void> {
    await until(() => this.pending.length > 0)
    this.pending.shift()?.release(r)
    await tick()
  }
  private hold(label: string): Promise<ReadResult> {
    this.calls.push(label)
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    return new Promise((resolve) =>
      this.pending.push({
        label,
        release: (r) => {
          this.inFlight--
          resolve(r)
        },
      }),
    )
  }
}

const tick = () => new Promise((r) => setTimeout(r, 1))
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = performance.now() + ms
  while (!cond()) {
    if (performance.now() > deadline) throw new Error('condition not met in time')
    await tick()
  }
}
const link = (unit: number, pauseMs = 0): DeviceLink => ({ device: `d${unit}`, unit, pauseMs, timeoutMs: 100 })
const sweep = (n: number) => async (io: { read(s: ReadSpec): Promise<ReadResult> }) => {
  for (let i = 0; i < n; i++) await io.read({ table: 'input', start: i, count: 1 })
  return n
}

const buses: Bus[] = []
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.stop()))
})
async function bus(transport: Transport, concurrency = 1, extra: Partial<ConstructorParameters<typeof Bus>[0]> = {}): Promise<Bus> {
  const b = new Bus({ id: 'b1', transport, concurrency, ...extra })
  buses.push(b)
  await b.start()
  return b
}

describe('Bus', () => {
  it('the constructor opens nothing; start() opens the transport once', async () => {
    const t = new GateTransport()
    const b = new Bus({ id: 'b1', transport: t, concurrency: 1 })
    expect(t.starts).toBe(0)
    await b.start()
    expect(t.starts).toBe(1)
    await b.stop()
    expect(t.stops).toBe(1)
  })

  it('a command waits for the running sweep, then goes ahead of polls queued before it', async () => {
    const t = new GateTransport()
    const b = await bus(t)
    const a = b.submit(link(1), 'poll', sweep(2))
    await until(() => t.calls.length === 1)
    const p2 = b.submit(link(2), 'poll', sweep(1))
    const p3 = b.submit(link(3), 'poll', sweep(1))
    const w = b.submit(link(4), 'command', (io) => io.write('holding', 7, [1]))
    for (let i = 0; i < 5; i++) await t.releaseNext()
    await Promise.all([a, p2, p3, w])
    // r1:0 and r1:1 (device 1's sweep) stay together; the write lands between sweeps, before the older polls.
    expect(t.calls).toEqual(['r1:0', 'r1:1', 'w4:7', 'r2:0', 'r3:0'])
  })

  it('a command for the device being swept waits for the end of its sweep', async () => {
    const t = new GateTransport()
    const b = await bus(t, 4)
    const a = b.submit(link(1), 'poll', sweep(3))
    await until(() => t.calls.length === 1)
    const w = b.submit(link(1), 'command', (io) => io.write('holding', 9, [1]))
    for (let i = 0; i < 4; i++) await t.releaseNext()
    await Promise.all([a, w])
    expect(t.calls).toEqual(['r1:0', 'r1:1', 'r1:2', 'w1:9'])
  })

  it('concurrency 1 (RTU): one request on the line at a time, whatever is queued', async () => {
    const t = new GateTransport()
    const b = await bus(t, 1)
    const jobs = [1, 2, 3, 4].map((u) => b.submit(link(u), 'poll', sweep(2)))
    jobs.push(b.submit(link(5), 'command', sweep(1)))
    for (let i = 0; i < 9; i++) await t.releaseNext()
    await Promise.all(jobs)
    expect(t.maxInFlight).toBe(1)
  })

  it('concurrency N (TCP): up to N devices at once, never two requests to one device', async () => {
    const t = new GateTransport()
    const b = await bus(t, 3)
    const jobs = [1, 2, 3, 4, 5].map((u) => b.submit(link(u), 'poll', sweep(2)))
    jobs.push(b.submit(link(1), 'command', sweep(1)))
    await until(() => t.pending.length === 3)
    expect(t.calls).toEqual(['r1:0', 'r2:0', 'r3:0'])
    await tick()
    expect(t.pending.length).toBe(3)
    while (t.calls.length < 11) await t.releaseNext()
    while (t.pending.length > 0) await t.releaseNext()
    await Promise.all(jobs)
    expect(t.maxInFlight).toBe(3)
    // Device 1's command waited for its sweep even though other slots were free.
    expect(t.calls.filter((c) => c.startsWith('r1:'))).toEqual(['r1:0', 'r1:1', 'r1:0'])
  })

  it("waits the device's pause between its requests, across jobs; another device owes nothing", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
    try {
      const sent: number[] = []
      const answer = async () => {
        sent.push(performance.now())
        await new Promise((r) => setTimeout(r, 10)) // each answer takes 10 ms
        return { ok: true as const, data: [0], latencyMs: 10 }
      }
      const t: Transport = { start: async () => undefined, stop: async () => undefined, read: answer, write: answer }
      const b = new Bus({ id: 'b1', transport: t, concurrency: 1 })
      await b.start()
      const t0 = performance.now()
      const jobs = [
        b.submit(link(1, 40), 'poll', sweep(3)),
        b.submit(link(1, 40), 'command', (io) => io.write('holding', 0, [1])),
        b.submit(link(2, 40), 'poll', sweep(1)),
      ]
      await vi.advanceTimersByTimeAsync(1000)
      await Promise.all(jobs)
      await b.stop()
      // Device 1: answers end at 10, 60, 110; its write (a command, ahead of device 2's poll) waits for 110 + 40.
      // Device 2 goes right after the write's answer, with no pause.
      expect(sent.map((x) => x - t0)).toEqual([0, 50, 100, 150, 160])
    } finally {
      vi.useRealTimers()
    }
  })

  it('refuses commands beyond the queue bound; polls are not counted', async () => {
    const t = new GateTransport()
    const b = await bus(t, 1, { maxQueuedCommands: 2 })
    const running = b.submit(link(1), 'poll', sweep(1))
    await until(() => t.calls.length === 1)
    const queued = [b.submit(link(2), 'command', sweep(1)), b.submit(link(3), 'command', sweep(1)), b.submit(link(4), 'poll', sweep(1))]
    await expect(b.submit(link(5), 'command', sweep(1))).rejects.toBeInstanceOf(BusBusyError)
    expect(b.status().queued).toEqual({ command: 2, poll: 1 })
    for (let i = 0; i < 4; i++) await t.releaseNext()
    await Promise.all([running, ...queued])
  })

  it('stop(): waiting jobs fail with BusStoppedError, the running one finishes, the transport closes', async () => {
    const t = new GateTransport()
    const b = await bus(t)
    const running = b.submit(link(1), 'poll', sweep(2))
    await until(() => t.calls.length === 1)
    const waiting = b.submit(link(2), 'command', sweep(1))
    const stopped = b.stop()
    await expect(waiting).rejects.toBeInstanceOf(BusStoppedError)
    await t.releaseNext()
    await t.releaseNext()
    await stopped
    await expect(running).resolves.toBe(2)
    expect(t.stops).toBe(1)
    await expect(b.submit(link(1), 'poll', sweep(1))).rejects.toBeInstanceOf(BusStoppedError)
  })

  it('a driver that throws is a transport failure; the bus reopens the transport before a later request', async () => {
    let starts = 0
    let n = 0
    const t: Transport = {
      start: async () => {
        starts++
        if (starts === 1) throw new Error('ENOENT /dev/ttyUSB0')
      },
      stop: async () => undefined,
      read: async () => {
        if (n++ === 0) throw new Error('port closed')
        return { ok: true, data: [1], latencyMs: 0 }
      },
      write: async () => ({ ok: true, latencyMs: 0 }),
    }
    const b = await bus(t, 1, { reconnectMs: 0 })
    expect(b.status().transportError).toBe('ENOENT /dev/ttyUSB0')
    const first = await b.submit(link(1), 'poll', (io) => io.read({ table: 'input', start: 0, count: 1 }))
    expect(first).toMatchObject({ ok: false, failure: { kind: 'transport', detail: 'the driver threw: port closed' } })
    const second = await b.submit(link(1), 'poll', (io) => io.read({ table: 'input', start: 0, count: 1 }))
    expect(second.ok).toBe(true)
    expect(starts).toBe(3) // start(), reopened before the first request (start had failed), and after the thrown read
    expect(b.status()).toMatchObject({ requests: 2, failures: { transport: 1 } })
    expect(b.status().transportError).toBeUndefined()
  })

  it('counts requests and failures per device', async () => {
    const results: ReadResult[] = [
      { ok: false, failure: { kind: 'timeout' }, latencyMs: 100 },
      { ok: false, failure: { kind: 'exception', code: 2 }, latencyMs: 3 },
      { ok: true, data: [1], latencyMs: 3 },
    ]
    const t: Transport = { start: async () => undefined, stop: async () => undefined, read: async () => results.shift() ?? { ok: true, data: [0], latencyMs: 0 }, write: async () => ({ ok: true, latencyMs: 0 }) }
    const b = await bus(t)
    await b.submit(link(1), 'poll', sweep(3))
    expect(b.countersOf('d1')).toEqual({ requests: 3, failures: { exception: 1, timeout: 1, crc: 0, transport: 0 }, timeoutMs: 100 })
  })

  it('refuses a concurrency below 1', () => {
    expect(() => new Bus({ id: 'x', transport: new GateTransport(), concurrency: 0 })).toThrow(/concurrency/)
  })
})
