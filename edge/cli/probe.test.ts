/**
 * `muni edge probe` against a real Modbus TCP server (the project's simulator)
 * serving a shipped profile, PressTek PTX40 (floats in CDAB, 16-register reads,
 * 50 ms between requests). Expected values are the ones set on the device.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { SimulatedDevice } from '../../simulators/device/device.ts'
import { ModbusTcpServer } from '../../simulators/modbus/tcp-server.ts'
import { loadProfiles } from '../profiles/load.ts'
import { runCommand } from '../tools/test-support/run-command.ts'
import type { Fault } from '../../simulators/device/faults.ts'
import { probeCommand } from './probe.ts'

const PROFILE = 'presstek-ptx40@5.2'
const VALUES = { pressure_bar: 5.5, temperature_c: 12.25, status: 0, pressure_min_bar: 5.25, pressure_max_bar: 6, battery_pct: 87, rssi_dbm: -71 }

let server: ModbusTcpServer | undefined
afterEach(async () => {
  await server?.stop()
  server = undefined
})

async function serve(fault?: Fault): Promise<number> {
  const profile = loadProfiles().profiles.get(PROFILE)
  if (!profile) throw new Error(`${PROFILE} is not shipped`)
  const device = new SimulatedDevice({ profile, values: VALUES, ...(fault && { fault }) })
  server = new ModbusTcpServer({ units: new Map([[3, device]]) })
  await server.start()
  return server.port
}

const probe = (port: number, ...extra: string[]) => runCommand(probeCommand(), ['--tcp', `127.0.0.1:${port}`, '--unit', '3', '--profile', PROFILE, ...extra])

describe('muni edge probe', () => {
  it('prints the values the device holds, the raw registers of each planned read, and confirms the word order', async () => {
    const port = await serve()
    const r = await probe(port)
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^pressure_bar\s+5\.5\s*$/m)
    expect(r.out).toMatch(/^temperature_c\s+12\.25\s*$/m)
    expect(r.out).toMatch(/^battery_pct\s+87\s*$/m)
    expect(r.out).toMatch(/^rssi_dbm\s+-71\s*$/m)
    // 5.5 = 0x40B00000 and 12.25 = 0x41440000, words swapped (CDAB); -71 = 0xFFB9.
    expect(r.out).toContain('FC04 input 0..4 (5 registers): 0000 40B0 0000 4144 0000')
    expect(r.out).toContain('FC04 input 64..65 (2 registers): 0057 FFB9')
    expect(r.out).toContain('profile says CDAB; values look right under CDAB')
    expect(r.out).toContain('plausible: ABCD 0/4, CDAB 4/4, BADC 0/4, DCBA 0/4')
  })

  it('--json gives the report: values, requests and the wizard verdict', async () => {
    const port = await serve()
    const r = await probe(port, '--json')
    const report = JSON.parse(r.out) as { values: Record<string, unknown>; wizard: { fitting: string[]; verdict: { kind: string } }; answered: boolean }
    expect(report.values).toMatchObject({ pressure_bar: 5.5, pressure_max_bar: 6 })
    expect(report.wizard.fitting).toEqual(['CDAB'])
    expect(report.wizard.verdict.kind).toBe('ok')
    expect(report.answered).toBe(true)
  })

  it("with the device's wrong-order fault, the wizard flags the mismatch and names the order the device uses", async () => {
    const port = await serve({ kind: 'wrong-order' }) // CDAB profile served as ABCD
    const r = await probe(port)
    expect(r.code).toBe(0)
    expect(r.out).toContain("profile says CDAB but only ABCD gives plausible values — check the device's word order setting")
    expect(r.out).toContain('plausible: ABCD 4/4, CDAB 0/4')
    expect(r.out).toMatch(/^pressure_bar\s+float32\s+CDAB\s+5\.5 ✓/m)
  })

  it('a silent unit: exit 1, saying it timed out', async () => {
    const port = await serve({ kind: 'no-response' })
    const r = await probe(port, '--timeout', '80')
    expect(r.code).toBe(1)
    expect(r.err).toContain('unit 3 did not answer: timeout after 80 ms')
    expect(r.out).toContain('FC04 input 0..4 (5 registers): timeout (no answer from the device)')
  })

  it('a unit id the gateway does not know: exit 1, naming the gateway exception', async () => {
    const port = await serve()
    const r = await runCommand(probeCommand(), ['--tcp', `127.0.0.1:${port}`, '--unit', '9', '--profile', PROFILE])
    expect(r.code).toBe(1)
    expect(r.err).toContain('unit 9 did not answer: exception 0B (gateway target device failed to respond)')
  })

  it.for([
    [['--unit', '3', '--profile', PROFILE], 'give exactly one of --tcp HOST:PORT or --rtu PATH'],
    [['--tcp', 'nohost', '--unit', '3', '--profile', PROFILE], '--tcp wants HOST:PORT'],
    [['--rtu', '/dev/null', '--unit', '3', '--profile', PROFILE], '--rtu needs --baud B'],
    [['--tcp', '127.0.0.1:1', '--unit', '300', '--profile', PROFILE], '--unit wants a unit id 1..247'],
    [['--tcp', '127.0.0.1:1', '--unit', '3', '--profile', 'nope@1'], 'unknown profile "nope@1"'],
  ] as const)('refuses bad arguments: %j', async ([argv, message]) => {
    const r = await runCommand(probeCommand(), argv)
    expect(r.code).toBe(1)
    expect(r.err).toContain(message)
  })
})
