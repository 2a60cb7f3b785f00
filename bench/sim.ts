/**
 * `npm run bench -- sim [--seconds S] [--only tcp|rtu|timers] [--depth N]`
 *
 * (a) Modbus TCP: requests/s served by the simulator's `ModbusTcpServer` and by a
 *     bare modbus-serial `ServerTCP`, in the same run, with the same minimal MBAP
 *     client (in a worker thread, so client and server do not share an event loop),
 *     FC03 of 1 and of 125 registers, sequential (one request in flight) and
 *     pipelined (`--depth` in flight, default 16).
 * (b) Modbus RTU over a socat pty pair: transactions/s of the simulator's
 *     `ModbusRtuServer` (8E1, 11 bits per character) at 9600 and 19200 baud, FC03 of
 *     1 and 125 registers, against the wire limit: request 8 bytes + response 5 + 2N
 *     bytes at 11 bits/char, plus two t3.5 gaps, plus turnaround (0 here).
 *
 * (c) Timer lateness: how late plain `setTimeout` and the RTU server's `sleepUntil`
 *     wake for a t3.5 wait at 9600 baud, which bounds how exact (b)'s pacing can be.
 *
 * Each run is bounded by `--seconds` (default 3). Loopback and ptys only.
 */
import { connect } from 'node:net'
import { cpus } from 'node:os'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import MB from 'modbus-serial'
import type { ServerTCP as ServerTCPType } from 'modbus-serial'
import { SerialPort } from 'serialport'
import { resolveProfile, type ResolvedProfile } from '../shared/profile/resolve.ts'
import type { Point } from '../shared/profile/schema.ts'
import { SimulatedDevice } from '../simulators/device/device.ts'
import { encodeMbap, splitMbap } from '../shared/modbus/mbap.ts'
import { openPtyPair } from '../simulators/modbus/pty-pair.ts'
import { encodeRtu } from '../shared/modbus/rtu-frame.ts'
import { ModbusRtuServer } from '../simulators/modbus/rtu-server.ts'
import { interFrameGapMs, readRegistersFrameBytes, wireLimitPerSecond } from '../shared/modbus/rtu-timing.ts'
import { ModbusTcpServer } from '../simulators/modbus/tcp-server.ts'
import { sleepUntil } from '../simulators/modbus/wire-clock.ts'

// modbus-serial is CommonJS: its classes hang off the default export (CONVENTIONS.md).
const { ServerTCP } = MB as unknown as { ServerTCP: typeof ServerTCPType }

const REGISTERS = 125

/** 125 holding registers, each a uint16 point: what both TCP servers serve. */
function bankProfile(): ResolvedProfile {
  const points: Point[] = Array.from({ length: REGISTERS }, (_, i) => ({ name: `r${i}`, table: 'holding', address: i, type: 'uint16' }))
  return resolveProfile({ id: 'bench-bank@1', kind: 'water-level', vendor: 'bench', model: 'bank', firmware: '1', protocol: 'modbus', points })
}

function bankDevice(): SimulatedDevice {
  return new SimulatedDevice({ profile: bankProfile(), values: Object.fromEntries(Array.from({ length: REGISTERS }, (_, i) => [`r${i}`, i * 3])) })
}

// ---------------------------------------------------------------- TCP client (worker)

interface ClientJob {
  role: 'sim-tcp-client'
  port: number
  registers: number
  depth: number
  ms: number
}

interface ClientResult {
  responses: number
  errors: number
  elapsedMs: number
}

/** Keeps `depth` FC03 requests in flight for `ms`, counting well-formed answers. */
function tcpClient(job: ClientJob): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: job.port, noDelay: true })
    const pdu = Uint8Array.of(0x03, 0, 0, 0, job.registers)
    let tid = 0
    let inFlight = 0
    let responses = 0
    let errors = 0
    let pending: Buffer = Buffer.alloc(0)
    let start = 0
    const send = (): void => {
      tid = (tid + 1) & 0xffff
      inFlight++
      socket.write(encodeMbap({ transactionId: tid, unitId: 1, pdu }))
    }
    socket.on('error', reject)
    socket.on('connect', () => {
      start = performance.now()
      for (let i = 0; i < job.depth; i++) send()
    })
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      const split = splitMbap(pending)
      pending = pending.subarray(split.consumed)
      const running = performance.now() - start < job.ms
      for (const f of split.frames) {
        inFlight--
        if (f.pdu[0] === 0x03 && f.pdu[1] === 2 * job.registers) responses++
        else errors++
        if (running) send()
      }
      if (!running && inFlight === 0) {
        const elapsedMs = performance.now() - start
        socket.destroy()
        resolve({ responses, errors, elapsedMs })
      }
    })
  })
}

if (!isMainThread && (workerData as Partial<ClientJob> | null)?.role === 'sim-tcp-client') {
  tcpClient(workerData as ClientJob).then(
    (r) => parentPort?.postMessage(r),
    (err: unknown) => parentPort?.postMessage({ error: String(err) }),
  )
}

function inWorker(job: Omit<ClientJob, 'role'>): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    // A worker does not inherit tsx's loader hooks (Node 20), so it registers them before importing this file.
    const boot = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(import.meta.url)});`
    const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData: { role: 'sim-tcp-client', ...job } })
    w.once('message', (m: ClientResult | { error: string }) => {
      void w.terminate()
      if ('error' in m) reject(new Error(m.error))
      else resolve(m)
    })
    w.once('error', reject)
  })
}

// ---------------------------------------------------------------- TCP servers

interface Served {
  port: number
  stop(): Promise<void>
}

async function ours(): Promise<Served> {
  const server = new ModbusTcpServer({ units: new Map([[1, bankDevice()]]) })
  await server.start()
  return { port: server.port, stop: () => server.stop() }
}

async function modbusSerial(): Promise<Served> {
  const values = Array.from({ length: REGISTERS }, (_, i) => i * 3)
  const vector = {
    getHoldingRegister: (addr: number) => values[addr] ?? 0,
    getMultipleHoldingRegisters: (addr: number, length: number) => values.slice(addr, addr + length),
  }
  const server = new ServerTCP(vector, { host: '127.0.0.1', port: 0, unitID: 1 })
  await new Promise<void>((resolve) => server.on('initialized', () => resolve()))
  // ServerTCP does not expose its bound port; its net.Server is `_server`.
  const port = (server as unknown as { _server: { address(): { port: number } } })._server.address().port
  return { port, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

async function benchTcp(ms: number, depth: number): Promise<void> {
  process.stdout.write(`\n(a) Modbus TCP, FC03, ${(ms / 1000).toFixed(1)} s per run, client in a worker thread\n`)
  process.stdout.write(`${'registers'.padEnd(10)}${'in flight'.padEnd(11)}${'simulator req/s'.padStart(16)}${'modbus-serial req/s'.padStart(21)}${'ratio'.padStart(8)}\n`)
  for (const registers of [1, 125]) {
    for (const inFlight of [1, depth]) {
      const rates: number[] = []
      for (const make of [ours, modbusSerial]) {
        const s = await make()
        try {
          await inWorker({ port: s.port, registers, depth: inFlight, ms: 300 }) // warm-up, not counted
          const r = await inWorker({ port: s.port, registers, depth: inFlight, ms })
          if (r.errors > 0) process.stdout.write(`  ! ${r.errors} malformed answers\n`)
          rates.push((r.responses / r.elapsedMs) * 1000)
        } finally {
          await s.stop()
        }
      }
      const [a = 0, b = 0] = rates
      process.stdout.write(`${String(registers).padEnd(10)}${String(inFlight).padEnd(11)}${a.toFixed(0).padStart(16)}${b.toFixed(0).padStart(21)}${(a / b).toFixed(2).padStart(8)}\n`)
    }
  }
}

// ---------------------------------------------------------------- RTU

async function benchRtu(ms: number): Promise<void> {
  process.stdout.write(`\n(b) Modbus RTU over a socat pty pair, 8E1 (11 bits/char), turnaround 0, sequential, ${(ms / 1000).toFixed(1)} s per run\n`)
  process.stdout.write(`${'baud'.padEnd(7)}${'registers'.padEnd(10)}${'tx/s'.padStart(8)}${'wire limit'.padStart(12)}${'fraction'.padStart(10)}${'registers/s'.padStart(13)}${'late mean/max ms'.padStart(19)}${'timeouts'.padStart(10)}\n`)
  for (const baud of [9600, 19200]) {
    for (const registers of [1, 125]) {
      const pty = await openPtyPair()
      const server = new ModbusRtuServer({ units: new Map([[1, bankDevice()]]), path: pty.a, baudRate: baud, parity: 'even', stopBits: 1 })
      const port = new SerialPort({ path: pty.b, baudRate: baud, parity: 'even', stopBits: 1, autoOpen: false })
      try {
        await server.start()
        await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())))
        const r = await rtuClient(port, registers, ms)
        const bytes = readRegistersFrameBytes(registers)
        const limit = wireLimitPerSecond({ baud, requestBytes: bytes.request, responseBytes: bytes.response, turnaroundMs: 0 })
        const rate = (r.ok / r.elapsedMs) * 1000
        const late = `${server.lateness.mean.toFixed(2)}/${server.lateness.max.toFixed(2)}`
        process.stdout.write(
          `${String(baud).padEnd(7)}${String(registers).padEnd(10)}${rate.toFixed(1).padStart(8)}${limit.toFixed(1).padStart(12)}${(rate / limit).toFixed(3).padStart(10)}${(rate * registers).toFixed(0).padStart(13)}${late.padStart(19)}${String(r.timeouts).padStart(10)}\n`,
        )
      } finally {
        if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()))
        await server.stop()
        await pty.close()
      }
    }
  }
}

/** Sequential FC03 reads of unit 1 for `ms`: each waits for its whole answer (5 + 2N bytes) or 1 s. */
function rtuClient(port: SerialPort, registers: number, ms: number): Promise<{ ok: number; timeouts: number; elapsedMs: number }> {
  return new Promise((resolve) => {
    const request = Buffer.from(encodeRtu(1, Uint8Array.of(0x03, 0, 0, 0, registers)))
    const want = 5 + 2 * registers
    let got = 0
    let ok = 0
    let timeouts = 0
    let timer: NodeJS.Timeout | undefined
    const start = performance.now()
    const next = (): void => {
      clearTimeout(timer)
      if (performance.now() - start >= ms) {
        port.off('data', onData)
        resolve({ ok, timeouts, elapsedMs: performance.now() - start })
        return
      }
      got = 0
      timer = setTimeout(() => {
        timeouts++
        next()
      }, 1000)
      port.write(request)
    }
    const onData = (d: Buffer): void => {
      got += d.length
      if (got >= want) {
        ok++
        next()
      }
    }
    port.on('data', onData)
    next()
  })
}

// ---------------------------------------------------------------- timers

/** Lateness of 200 waits of t3.5 at 9600 baud (4.01 ms) with plain setTimeout and with `sleepUntil`. */
async function benchTimers(): Promise<void> {
  const wait = interFrameGapMs(9600)
  const runs = 200
  const measure = async (sleep: (deadline: number) => Promise<unknown>): Promise<number[]> => {
    const late: number[] = []
    for (let i = 0; i < runs; i++) {
      const deadline = performance.now() + wait
      await sleep(deadline)
      late.push(performance.now() - deadline)
    }
    return late.sort((a, b) => a - b)
  }
  const plain = await measure((deadline) => new Promise((r) => setTimeout(r, deadline - performance.now())))
  const hybrid = await measure((deadline) => sleepUntil(deadline))
  const q = (xs: number[], f: number): string => (xs[Math.min(xs.length - 1, Math.floor(f * xs.length))] ?? 0).toFixed(3)
  process.stdout.write(`\n(c) timer lateness for a ${wait.toFixed(2)} ms wait, ${runs} waits, ms (negative = early)\n`)
  process.stdout.write(`${'timer'.padEnd(40)}${'min'.padStart(8)}${'p50'.padStart(8)}${'p99'.padStart(8)}${'max'.padStart(8)}\n`)
  for (const [name, xs] of [['setTimeout', plain], ['sleepUntil (setTimeout + setImmediate)', hybrid]] as const) {
    process.stdout.write(`${name.padEnd(40)}${q(xs, 0).padStart(8)}${q(xs, 0.5).padStart(8)}${q(xs, 0.99).padStart(8)}${q(xs, 1).padStart(8)}\n`)
  }
}

// ---------------------------------------------------------------- entry

export default async function sim(args: string[]): Promise<void> {
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`)
    return i >= 0 ? args[i + 1] : undefined
  }
  const ms = Number(opt('seconds') ?? 3) * 1000
  const depth = Number(opt('depth') ?? 16)
  const only = opt('only')
  process.stdout.write(`bench sim: node ${process.version}, ${cpus().length} cores\n`)
  if (only === undefined || only === 'tcp') await benchTcp(ms, depth)
  if (only === undefined || only === 'rtu') {
    try {
      await benchRtu(ms)
    } catch (err) {
      process.stdout.write(`(b) not run: ${(err as Error).message} (needs socat, Debian package socat)\n`)
    }
  }
  if (only === undefined || only === 'timers') await benchTimers()
}
