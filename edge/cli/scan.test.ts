/**
 * `muni edge scan` against real peers: the project's Modbus TCP server with
 * several units, and its RTU server on a socat pty pair.
 *
 * A pty passes bytes whatever its baud rate and parity, so on its own it would
 * let a device "answer" at every setting. The RTU test therefore puts the
 * simulated device behind a line check that reads the scanner's baud rate from
 * its end of the pty with `stty -F` (a pty's termios is shared by everyone who
 * opens it) and stays silent at any other baud rate, as a real slave does when
 * the characters it receives are garbage. Parity cannot be checked this way:
 * Linux clears PARENB on ptys (drivers/tty/pty.c pty_set_termios), so a parity
 * mismatch needs real hardware or a USB-RS485 loopback.
 */
import { spawnSync } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { BINARIES, requireBinary } from '../../shared/test-support/binaries.ts'
import { SimulatedDevice } from '../../simulators/device/device.ts'
import { openPtyPair, type PtyPair } from '../../simulators/modbus/pty-pair.ts'
import { ModbusRtuServer } from '../../simulators/modbus/rtu-server.ts'
import { ModbusTcpServer } from '../../simulators/modbus/tcp-server.ts'
import type { ModbusUnit } from '../../simulators/modbus/unit.ts'
import { loadProfiles } from '../profiles/load.ts'
import { runCommand } from '../tools/test-support/run-command.ts'
import { scanCommand } from './scan.ts'

const profile = loadProfiles().profiles.get('presstek-ptx40@5.2')
if (!profile) throw new Error('presstek-ptx40@5.2 is not shipped')
const device = (): SimulatedDevice => new SimulatedDevice({ profile, values: { pressure_bar: 5.5 }, quirks: false })

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function tcpServer(units: number[]): Promise<number> {
  const server = new ModbusTcpServer({ units: new Map(units.map((u) => [u, device()])) })
  await server.start()
  cleanups.push(() => server.stop())
  return server.port
}

/** Collects progress writes; `isTTY` unset, as when stderr is a pipe. */
function pipeStream(): { write(s: string): boolean; text: string } {
  return {
    text: '',
    write(s: string) {
      this.text += s
      return true
    },
  }
}

describe('muni edge scan over TCP', () => {
  it('finds exactly the unit ids the gateway holds, and writes plain progress lines when not on a terminal', async () => {
    const port = await tcpServer([1, 7, 42])
    const progress = pipeStream()
    const r = await runCommand(scanCommand({ progress }), ['--tcp', `127.0.0.1:${port}`, '--units', '1-50', '--json'])
    expect(r.code).toBe(0)
    const result = JSON.parse(r.out) as { hits: { unit: number; answer: { fc: number; kind: string } }[]; probes: number; total: number }
    expect(result.hits.map((h) => h.unit)).toEqual([1, 7, 42])
    expect(result.probes).toBe(50)
    // The PTX40 has input registers only: holding register 0 answers exception 01/02, which still proves the unit is there.
    expect(result.hits.every((h) => h.answer.fc === 3 && h.answer.kind === 'exception')).toBe(true)
    const lines = progress.text.trim().split('\n')
    expect(lines.length).toBeGreaterThanOrEqual(10)
    for (const l of lines) expect(l).toMatch(/^scan: \d+\/50 \(\d+%\) [\d.]+ probes\/s ETA \d+s$/)
    expect(lines.at(-1)).toMatch(/^scan: 50\/50 \(100%\)/)
    expect(progress.text).not.toContain('\u001b[') // no bar, no cursor control
  })

  it('prints a results table: unit and what answered', async () => {
    const port = await tcpServer([5])
    const r = await runCommand(scanCommand({ progress: pipeStream() }), ['--tcp', `127.0.0.1:${port}`, '--units', '4-6'])
    expect(r.code).toBe(0)
    expect(r.out).toContain('1 unit(s) answered in 3 probe(s)')
    expect(r.out).toMatch(/^5\s+FC03 exception 0\d \(illegal (function|data address)\)/m)
  })

  it('a connection refused: exit 1, saying why, without trying every unit', async () => {
    const port = await tcpServer([])
    cleanups.pop()?.() // closes the server: the port is now refused
    const r = await runCommand(scanCommand({ progress: pipeStream() }), ['--tcp', `127.0.0.1:${port}`, '--units', '1-247'])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/scan stopped after 1 of 247 probes: transport failure/)
  })

  it.for([
    [['--units', '1-5'], 'give exactly one of --tcp HOST:PORT or --rtu PATH'],
    [['--tcp', '127.0.0.1:502', '--units', '0-300'], '--units wants ids or ranges within 1..247'],
    [['--rtu', '/dev/null', '--bauds', 'fast'], '--bauds wants baud rates'],
    [['--rtu', '/dev/null', '--parities', 'mark'], '--parities wants none, even, odd'],
  ] as const)('refuses bad arguments: %j', async ([argv, message]) => {
    const r = await runCommand(scanCommand({ progress: pipeStream() }), argv)
    expect(r.code).toBe(1)
    expect(r.err).toContain(message)
  })
})

/** The scanner's line settings, read from its end of the pty. */
function masterBaud(path: string): number | undefined {
  const r = spawnSync('stty', ['-F', path, 'speed'], { encoding: 'utf8' })
  const baud = Number(r.stdout.trim())
  return Number.isFinite(baud) ? baud : undefined
}

/** Answers only when the master's line matches the device's (see the module comment). */
function atBaud(unit: ModbusUnit, masterPath: string, baud: number): ModbusUnit {
  return { turnaroundMs: unit.turnaroundMs, respond: (pdu) => (masterBaud(masterPath) === baud ? unit.respond(pdu) : { kind: 'silent' }) }
}

describe('muni edge scan over RTU', () => {
  it('finds the unit at the baud rate it talks at (19200), with the parity it was tried at, and nowhere else', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    const pty: PtyPair = await openPtyPair()
    cleanups.push(() => pty.close())
    const server = new ModbusRtuServer({ units: new Map([[3, atBaud(device(), pty.b, 19200)]]), path: pty.a, baudRate: 19200, parity: 'even' })
    await server.start()
    cleanups.push(() => server.stop())
    const progress = pipeStream()
    const r = await runCommand(scanCommand({ progress }), ['--rtu', pty.b, '--units', '1-5', '--bauds', '9600,19200', '--parities', 'none,even', '--timeout', '100'])
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    expect(r.out).toContain('answered in 20 probe(s)')
    expect(r.out).toMatch(/^3\s+19200\/even\s+FC03 exception/m)
    // Every hit is unit 3 at 19200 (at 19200/none too: the pty cannot drop a parity mismatch, see above).
    expect(r.out.match(/^\d+\s+\d+\/\w+/gm)?.every((row) => /^3\s+19200\//.test(row))).toBe(true)
    expect(r.out).not.toMatch(/9600\//)
    expect(progress.text.trim().split('\n').at(-1)).toMatch(/^scan: 20\/20 \(100%\)/)
  }, 20_000)
})
