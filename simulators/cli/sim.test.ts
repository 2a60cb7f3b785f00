/**
 * `muni sim` as a user meets it: the real bin in a child process, read by
 * third-party Modbus masters (mbpoll, pymodbus) that share no code with the
 * simulator. Expected values come from `muni sim --dump` at t = 0 (the served
 * processes run with --speed 0, so they hold t = 0) and are compared with what the
 * peers printed, decoded here by hand.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { BINARIES, requireBinary } from '../../shared/test-support/binaries.ts'
import { openPtyPair, type PtyPair } from '../modbus/pty-pair.ts'
import { loadProfileLibrary } from '../runner/load.ts'
import type { Endpoint } from '../runner/runner.ts'
import { mbpoll, tcpArgs } from '../test-support/mbpoll.ts'
import { MuniProcesses, runMuni } from '../test-support/muni-process.ts'
import { pollRegisters } from '../test-support/pymodbus-poll.ts'
import { pymodbus } from '../test-support/pymodbus.ts'
import { float32, int16 } from '../test-support/words.ts'
import { muni } from '../../edge/cli/test-support/run-muni.ts'

const procs = new MuniProcesses()
let pty: PtyPair | undefined
let dir: string | undefined
afterEach(async () => {
  await procs.stopAll()
  await pty?.close()
  pty = undefined
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
  process.exitCode = undefined
})

const lib = loadProfileLibrary()


interface DumpLine {
  t: number
  device: string
  unit: number
  fault: string
  values: Record<string, number | boolean | string>
  registers: Record<string, Record<string, string>>
}

/** `muni sim --dump …` lines, parsed. */
async function dump(args: string[]): Promise<DumpLine[]> {
  const r = await runMuni(['sim', '--dump', ...args])
  expect(r.code, r.stderr).toBe(0)
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as DumpLine)
}

/** Dump words of `device` from `address` (the run they start), as numbers. */
function dumpWords(line: DumpLine, table: string, start: number, count: number): number[] {
  const words = (line.registers[table]?.[String(start)] ?? '').split(' ').map((h) => Number.parseInt(h, 16))
  return words.slice(0, count)
}

/** The values mbpoll printed for references from..from+count-1, as unsigned 16-bit words. */
function mbpollWords(values: Map<number, string>, from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Number(values.get(from + i)))
}

const endpoints = (lines: string[]): Endpoint[] => lines.map((l) => JSON.parse(l) as Endpoint)

describe('muni sim: usage', () => {
  it('has --help with the modes and the fault forms', async () => {
    const r = await muni('sim', '--help')
    expect(r.code).toBe(0)
    expect(r.out).toContain('Usage: muni sim')
    for (const s of ['--profile', '--tcp', '--rtu', '--district', '--scenario', '--replay', '--dump', 'dropout:FOR_MS[:EVERY_MS]']) expect(r.out).toContain(s)
  })

  it.each([
    [['--profile', 'presstek-ptx40@5.2', '--tcp', '127.0.0.1:0', '--fault', 'exception:7'], /--fault "exception:7": exception code "7" is not one of 1, 2, 3, 4, 6, 11.*Accepted: \[DEVICE=\]none \| no-response \| exception:CODE.*wrong-order\[:ORDER\]/],
    [['--fault', 'melted'], /--fault "melted": unknown fault kind "melted"\. Accepted:/],
    [['--fault', 'dropout:500:100'], /--fault "dropout:500:100": dropout everyMs 100 must exceed forMs 500/],
    [['--fault', 'pp-nowhere=stuck'], /--fault: no device "pp-nowhere"; devices: wl-gqm-01, /],
    [['--tcp', '127.0.0.1:5020'], /--tcp needs --profile/],
    [['--profile', 'presstek-ptx40@5.2'], /--profile needs --tcp HOST:PORT or --rtu PATH/],
    [['--profile', 'presstek-ptx40@5.2', '--tcp', 'localhost'], /--tcp "localhost" is not HOST:PORT/],
    [['--profile', 'presstek-ptx40@5.2', '--tcp', ':0', '--unit', '0'], /--unit must be an integer from 1 to 247, not "0"/],
    [['--profile', 'presstek-ptx40@5.2', '--tcp', ':0', '--unit', '3', '--unit', '3'], /--unit 3 is given twice/],
    [['--profile', 'acme-nothing@1', '--tcp', ':0'], /unknown profile "acme-nothing@1"; known: aquameter-us12@1.7, /],
    [['--scenario', 'hail'], /--scenario "hail": no such file and no shipped scenario of that name \(cover-theft, pipe-burst, sensor-faults, storm\)/],
    [['--speed', '-1'], /--speed must be a number from 0, not "-1"/],
    [['--replay', 'x.ndjson', '--speed', '0'], /--speed must be above 0 with --replay/],
    [['--scenario-speed', '60'], /--scenario-speed applies to a live run with --scenario/],
    [['--scenario', 'storm', '--scenario-speed', '0'], /--scenario-speed must be a number above 0, not "0"/],
    [['--scenario-from', '0:45:00'], /--scenario-from applies to a live run with --scenario/],
    [['--dump', '--scenario', 'storm', '--scenario-from', '0:45:00'], /--scenario-from applies to a live run with --scenario/],
    [['--scenario', 'storm', '--scenario-from', '45m'], /--scenario-from "45m" is neither seconds \(2700\) nor a clock "H:MM:SS" \(0:45:00\)/],
    [['--scenario', 'storm', '--scenario-from', '13:00:00'], /--scenario-from 13:00:00 is not before the end of scenario storm \(13:00:00\)/],
  ])('refuses %j with exit 2 and says why', async (args, message) => {
    const r = await muni('sim', ...args)
    expect(r.err).toMatch(message)
    expect(r.code).toBe(2)
  })
})

describe('muni sim --dump', () => {
  it('is byte-identical for the same seed and differs for another', async () => {
    const args = (seed: number): string[] => ['sim', '--dump', '--scenario', 'storm', '--seed', String(seed), '--duration', '7200', '--step', '600']
    const [a, b, c] = await Promise.all([runMuni(args(7)), runMuni(args(7)), runMuni(args(8))])
    expect(a?.code, a?.stderr).toBe(0)
    const lines = a?.stdout.trim().split('\n') ?? []
    expect(lines).toHaveLength(35 * 13) // t = 0, 600, …, 7200 for 35 devices
    expect(b?.stdout).toBe(a?.stdout)
    expect(c?.stdout).not.toBe(a?.stdout)
  }, 60_000)
})

describe('muni sim --profile', () => {
  it('TCP: several units behind one port read by mbpoll and pymodbus hold exactly what the model produced', async (ctx) => {
    requireBinary(ctx, BINARIES.mbpoll)
    requireBinary(ctx, BINARIES.pymodbus)
    const args = ['--profile', 'presstek-ptx40@5.2', '--unit', '1', '--unit', '2', '--seed', '42']
    const [expected, lines] = await Promise.all([dump([...args, '--duration', '0']), procs.spawn(['sim', ...args, '--tcp', '127.0.0.1:0', '--speed', '0']).lines(2)])
    const eps = endpoints(lines)
    expect(eps.map((e) => [e.device, e.unit, e.transport])).toEqual([
      ['unit-1', 1, 'tcp'],
      ['unit-2', 2, 'tcp'],
    ])
    const port = eps[0]?.transport === 'tcp' ? eps[0].port : 0
    expect(port).toBeGreaterThan(0)

    for (const line of expected) {
      // presstek-ptx40@5.2, input registers: 0-1 pressure_bar float32 CDAB, 2-3 temperature_c float32 CDAB, 4 status.
      const words =
        line.unit === 1
          ? mbpollWords((await mbpoll([...tcpArgs(port, 1, '3', 0, 5), '127.0.0.1'])).values, 0, 5)
          : await pymodbus({ transport: { tcp: { port } }, method: 'read_input_registers', address: 0, arg: 5, slave: 2 }).then((r) => (r.ok && 'registers' in r ? (r.registers ?? []) : []))
      expect(words).toEqual(dumpWords(line, 'input', 0, 5))
      expect(float32(words.slice(0, 2), 'CDAB')).toBe(Math.fround(line.values.pressure_bar as number))
      expect(float32(words.slice(2, 4), 'CDAB')).toBe(Math.fround(line.values.temperature_c as number))
      expect(words[4]).toBe(0) // no flag: battery full, no fault
      expect(line.values.pressure_bar).toBeGreaterThan(3) // midnight: night pressure, about 3.5 bar
    }
    // The two units are two models: their noise differs.
    expect(expected[0]?.values.pressure_bar).not.toBe(expected[1]?.values.pressure_bar)
    // The PTX40 drops a request that comes within 50 ms of its last answer (its profile's quirk).
    await new Promise((r) => setTimeout(r, 100))
    const slow = await mbpoll([...tcpArgs(port, 2, '3', 64, 2), '127.0.0.1'])
    expect([Number(slow.values.get(64)), int16(Number(slow.values.get(65)))]).toEqual([100, -70]) // battery_pct, rssi_dbm (no radio model: constant)
  }, 60_000)

  it('RTU: two slaves on one pty line, read by mbpoll on the other end', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    requireBinary(ctx, BINARIES.mbpoll)
    pty = await openPtyPair()
    const args = ['--profile', 'hydrolux-rl80@2.3', '--unit', '1', '--unit', '2']
    const [expected, lines] = await Promise.all([dump([...args, '--duration', '0']), procs.spawn(['sim', ...args, '--rtu', pty.a, '--baud', '9600', '--parity', 'none', '--speed', '0']).lines(2)])
    expect(endpoints(lines)).toEqual([
      { device: 'unit-1', gateway: 'sim', bus: 'rtu', profile: 'hydrolux-rl80@2.3', unit: 1, transport: 'rtu', path: pty.a, baud: 9600, parity: 'none', stopBits: 1 },
      { device: 'unit-2', gateway: 'sim', bus: 'rtu', profile: 'hydrolux-rl80@2.3', unit: 2, transport: 'rtu', path: pty.a, baud: 9600, parity: 'none', stopBits: 1 },
    ])
    for (const line of expected) {
      const rtu = (ref: number, count: number): Promise<Awaited<ReturnType<typeof mbpoll>>> =>
        mbpoll(['-m', 'rtu', '-b', '9600', '-P', 'none', '-a', String(line.unit), '-t', '4', '-r', String(ref), '-c', String(count), '-0', '-1', pty?.b ?? ''])
      // hydrolux-rl80@2.3 (Modicon 40001 = protocol 0): 0-1 level, 2-3 distance, 4 echo quality; 29 battery_v ×0.01, 30 temperature_c ×0.1, 31 rssi.
      const head = await rtu(0, 5)
      expect(head.error, head.stdout + head.stderr).toBeUndefined()
      expect(mbpollWords(head.values, 0, 5)).toEqual(dumpWords(line, 'holding', 0, 5))
      expect(float32(mbpollWords(head.values, 2, 2), 'CDAB')).toBe(Math.fround(15.04))
      const tail = await rtu(29, 3)
      const [v, t, rssi] = mbpollWords(tail.values, 29, 3)
      expect(Math.abs((v ?? 0) * 0.01 - (line.values.battery_v as number))).toBeLessThanOrEqual(0.005)
      expect(Math.abs(int16(t ?? 0) * 0.1 - (line.values.temperature_c as number))).toBeLessThanOrEqual(0.05 + 1e-9)
      expect(int16(rssi ?? 0)).toBe(-70)
    }
  }, 60_000)

  it('a fault from the command line is what mbpoll sees; SIGTERM stops cleanly with exit 0', async (ctx) => {
    requireBinary(ctx, BINARIES.mbpoll)
    const p = procs.spawn(['sim', '--profile', 'presstek-ptx40@5.2', '--tcp', '127.0.0.1:0', '--unit', '1', '--fault', 'exception:2', '--duration', '60'])
    const [ep] = endpoints(await p.lines(1))
    const r = await mbpoll([...tcpArgs(ep?.transport === 'tcp' ? ep.port : 0, 1, '3', 0, 2), '127.0.0.1'])
    expect(r.error).toBe('Illegal data address')
    const end = await p.stop()
    expect(end.code).toBe(0)
    expect(end.stderr).toMatch(/sim: 1 device\(s\) on 1 bus\(es\).*\nsim: stopping \(SIGTERM\)\n$/)
  }, 60_000)

  it('--duration ends a live run by itself', async () => {
    const r = await runMuni(['sim', '--profile', 'presstek-ptx40@5.2', '--tcp', '127.0.0.1:0', '--duration', '0.5'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('sim: stopping (duration)')
  }, 30_000)
})

describe('muni sim --district', () => {
  it('the sample: every printed device answers a read, on each of its four buses; a --fault device answers its exception', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    requireBinary(ctx, BINARIES.mbpoll)
    const p = procs.spawn(['sim', '--free-ports', '--speed', '0', '--fault', 'pp-gqm-01=exception:6'])
    const eps = endpoints(await p.lines(35))
    expect(new Set(eps.map((e) => e.device)).size).toBe(35)
    const buses = new Map<string, Endpoint[]>()
    for (const e of eps) buses.set(`${e.gateway}/${e.bus}`, [...(buses.get(`${e.gateway}/${e.bus}`) ?? []), e])
    expect([...buses.keys()].sort()).toEqual(['gw-dongzhimen/rs485-1', 'gw-guangqumen/conv-1', 'gw-jianguomen/conv-1', 'gw-jianguomen/rs485-1'])

    const TABLE = { coil: '0', discrete: '1', input: '3', holding: '4' } as const
    const readFirstPoint = async (e: Endpoint): Promise<{ device: string; ok: boolean; error: string | undefined }> => {
      const first = lib.profiles.get(e.profile)?.points[0]
      if (!first) throw new Error(`no profile ${e.profile}`)
      const what = ['-a', String(e.unit), '-t', TABLE[first.table], '-r', String(first.address), '-c', String(first.registers), '-0', '-1']
      const r =
        e.transport === 'tcp'
          ? await mbpoll(['-m', 'tcp', '-p', String(e.port), ...what, e.host])
          : await mbpoll(['-m', 'rtu', '-b', String(e.baud), '-P', e.parity, '-s', String(e.stopBits), ...what, e.path])
      return { device: e.device, ok: r.error === undefined && r.values.size === first.registers, error: r.error }
    }
    // One master per bus, as on a real line; the four buses at once.
    const results = (await Promise.all([...buses.values()].map(async (list) => {
      const out = []
      for (const e of list) out.push(await readFirstPoint(e))
      return out
    }))).flat()
    expect(results.filter((r) => !r.ok).map((r) => [r.device, r.error])).toEqual([['pp-gqm-01', 'Slave device or server is busy']])
    // SIGTERM: a clean stop, and the pty pairs (socat and their links) are gone.
    expect((await p.stop()).code).toBe(0)
    for (const e of eps) if (e.transport === 'rtu') expect(existsSync(e.path), e.path).toBe(false)
  }, 120_000)
})

describe('muni sim --scenario-from', () => {
  it('serves from the start what a run from 0 has at that time: 1:15:00 of the storm held (--speed 0), read by pymodbus, equals --dump at 4500 s', async (ctx) => {
    requireBinary(ctx, BINARIES.socat)
    requireBinary(ctx, BINARIES.pymodbus)
    const p = procs.spawn(['sim', '--scenario', 'storm', '--scenario-from', '1:15:00', '--speed', '0', '--free-ports'])
    const [expected, lines] = await Promise.all([dump(['--scenario', 'storm', '--duration', '4500', '--step', '4500']), p.lines(35)])
    const line = expected.find((l) => l.t === 4500 && l.device === 'wl-gqm-01')
    const ep = endpoints(lines).find((e) => e.device === 'wl-gqm-01')
    if (!line || ep?.transport !== 'tcp') throw new Error('wl-gqm-01 is dumped and served on a TCP bus')
    // hydrolux-rl80@2.3: 0-1 level_m float32 CDAB, 2-3 distance, 4 echo quality.
    const r = await pymodbus({ transport: { tcp: { port: ep.port } }, method: 'read_holding_registers', address: 0, arg: 5, slave: ep.unit })
    const words = r.ok && 'registers' in r ? (r.registers ?? []) : []
    expect(words).toEqual(dumpWords(line, 'holding', 0, 5))
    expect(line.values.level_m).toBeGreaterThan(1) // a quarter of an hour into the rain: not a dry sump
    await expect.poll(() => p.stderr(), { timeout: 5000 }).toMatch(/scenario storm from 1:15:00, speed 0×/)
    expect((await p.stop()).code).toBe(0)
  }, 60_000)
})

describe('muni sim --replay', () => {
  it('serves the recorded values by device id, in the recorded order and timing (speed 2, ±150 ms)', async (ctx) => {
    requireBinary(ctx, BINARIES.pymodbus)
    dir = mkdtempSync(join(tmpdir(), 'muni-sim-replay-'))
    const districtFile = join(dir, 'district.yaml')
    writeFileSync(
      districtFile,
      `district: { id: test, name: Replay test }
sites: [{ id: s1, name: Site 1 }]
gateways:
  - id: gw-1
    site: s1
    name: Cabinet 1
    location: { lat: 39.9, lon: 116.4 }
    buses: [{ id: conv-1, type: tcp, host: 10.0.0.1, port: 502 }]
devices:
  - { id: wl-a, kind: water-level, gateway: gw-1, bus: conv-1, unit: 1, profile: hydrolux-rl80@2.3, location: { lat: 39.9, lon: 116.4 }, asset: WL-1, street: A street }
  - { id: pp-a, kind: pipe-pressure, gateway: gw-1, bus: conv-1, unit: 2, profile: vitaflow-pg7@1.0.3, location: { lat: 39.9, lon: 116.4 }, asset: PM-1, street: A street }
`,
    )
    // Sample times 40 ms before each batch arrived. The first value lasts longest, so
    // the poller (a python start-up away) sees it whatever the machine's load.
    const startedAt = 1_764_052_800_000
    const recorded = [
      { t: 0, level: 0.5, temp: 21.37 },
      { t: 2000, level: 1.3, temp: 21.42 },
      { t: 3000, level: 2.0, temp: 22.0 },
      { t: 4000, level: 0.75, temp: -3.14 },
    ]
    const topic = 'muni/v1/s1/gw-1/telemetry'
    const lines = [
      JSON.stringify({ format: 'muni-recording', version: 1, startedAt, broker: 'mqtt://127.0.0.1:1883', filters: ['muni/v1/+/+/telemetry'], retainAsPublished: false }),
      ...recorded.map((r, i) => {
        const ts = startedAt + r.t - 40
        const readings: Record<string, unknown>[] = [{ device: 'wl-a', ts, values: { level_m: r.level, temperature_c: r.temp }, errors: {}, historical: false }]
        // A store-and-forward copy of an old sample: never served.
        if (i === 1) readings.push({ device: 'wl-a', ts: ts - 900_000, values: { level_m: 9.99, temperature_c: 0 }, errors: {}, historical: true })
        if (i === 2) readings.push({ device: 'wl-elsewhere', ts, values: { level_m: 1 }, errors: {}, historical: false })
        return JSON.stringify({ t: r.t, topic, qos: 1, retain: false, payload: { gateway: 'gw-1', seq: i + 1, sentAt: startedAt + r.t - 20, readings } })
      }),
    ]
    const recording = join(dir, 'rec.ndjson')
    writeFileSync(recording, `${lines.join('\n')}\n`)

    const p = procs.spawn(['sim', '--replay', recording, '--district', districtFile, '--speed', '2', '--free-ports'])
    const eps = endpoints(await p.lines(2))
    const wl = eps.find((e) => e.device === 'wl-a')
    if (wl?.transport !== 'tcp') throw new Error('wl-a is on a TCP bus')
    // hydrolux-rl80@2.3: level_m float32 CDAB at 0-1; temperature_c int16 ×0.1 at 30.
    const [levels, temps] = await Promise.all([
      pollRegisters({ port: wl.port, slave: wl.unit, method: 'read_holding_registers', address: 0, count: 2, everyMs: 15, forMs: 2800 }),
      pollRegisters({ port: wl.port, slave: wl.unit, method: 'read_holding_registers', address: 30, count: 1, everyMs: 50, forMs: 2800 }),
    ])
    const changes: { t: number; level: number }[] = []
    for (const s of levels) {
      if (!s.registers) continue
      const level = float32(s.registers, 'CDAB')
      if (changes.at(-1)?.level !== level) changes.push({ t: s.t, level })
    }
    // Exactly the recorded values (float32 holds 1.3 as its nearest float), in order, nothing else.
    expect(changes.map((c) => c.level)).toEqual(recorded.map((r) => Math.fround(r.level)))
    // The last three 1000 ms apart in the recording, at speed 2: 500 ms apart here.
    for (let i = 1; i < changes.length - 1; i++) expect(Math.abs((changes[i + 1]?.t ?? 0) - (changes[i]?.t ?? 0) - 500)).toBeLessThanOrEqual(150)
    // temperature_c is int16 ×0.1: each recorded value within half a step.
    const servedTemps = [...new Set(temps.flatMap((s) => (s.registers ? [int16(s.registers[0] ?? 0) * 0.1] : [])))]
    for (const t of servedTemps) expect(recorded.some((r) => Math.abs(r.temp - t) <= 0.05 + 1e-9)).toBe(true)
    expect(servedTemps.length).toBeGreaterThanOrEqual(3)

    await expect.poll(() => p.stderr(), { timeout: 5000 }).toContain('sim: replay finished: 4 reading(s) served')
    expect(p.stderr()).toContain('sim: wl-elsewhere: recorded device is not in the district; its readings are skipped')
    expect((await p.stop()).code).toBe(0)
  }, 60_000)
})
