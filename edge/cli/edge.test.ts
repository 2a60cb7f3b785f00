/**
 * `muni edge validate` as a field engineer meets it, through `main()` in-process:
 * exit codes, the exact summary and issue lines, --json, and a broker password
 * from the environment that never shows up in anything printed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { PACKAGE_ROOT } from './main.ts'
import { muni } from './test-support/run-muni.ts'


const SECRET = 'c0rrect-h0rse-battery-staple'
const SAMPLE = 'edge/config/examples/gateway.yaml'
const FIXTURES = 'edge/config/__fixtures__'

const WITH_PASSWORD = `gateway: gw-test
site: site-test
broker:
  url: mqtts://broker.example:8883
  username: gw-test
  passwordEnv: MUNI_TEST_BROKER_PASSWORD
buffer:
  path: buffer.sqlite
buses:
  - id: rs485-1
    type: rtu
    path: /dev/ttyUSB0
    baud: 9600
    parity: even
    stopBits: 1
devices:
  - id: mh-01
    bus: rs485-1
    unit: 1
    profile: cividrain-mc200@2.1
  - id: mh-02
    bus: rs485-1
    unit: 2
    profile: cividrain-mc200@2.1
    enabled: false
`

const cwd = process.cwd()
let tmp: string
beforeEach(() => {
  process.chdir(PACKAGE_ROOT)
  tmp = mkdtempSync(join(tmpdir(), 'muni-edge-cli-'))
})
afterEach(() => {
  process.chdir(cwd)
  process.exitCode = undefined
  vi.unstubAllEnvs()
  rmSync(tmp, { recursive: true, force: true })
})

describe('muni edge validate', () => {
  it('prints a summary of a valid config and exits 0', async () => {
    const r = await muni('edge', 'validate', SAMPLE)
    expect(r).toMatchObject({ code: 0, err: '' })
    expect(r.out.split('\n')).toEqual([
      `${SAMPLE}: valid`,
      'gateway  gw-guangqumen (site dc-south)',
      'broker   mqtt://localhost:1883, client id muni-edge-gw-guangqumen',
      'buses    1: conv-1 (tcp 10.21.3.10:502)',
      'devices  12: 3 cividrain-mc200@1.4, 3 cividrain-mc200@2.1, 2 streetsense-ls30@3.0.2, ' +
        '1 aquameter-us12@1.7, 1 hydrolux-rl80@2.3, 1 presstek-ptx40@5.2, 1 vitaflow-pg7@1.0.3',
      '',
    ])
  })

  it('prints every problem as file:line:column: field: reason on stderr and exits 1', async () => {
    const f = `${FIXTURES}/two-defects.yaml`
    const r = await muni('edge', 'validate', f)
    expect(r).toMatchObject({ code: 1, out: '' })
    expect(r.err.split('\n')).toEqual([
      `${f}:24:5: devices[0].pollms: unknown field (did you mean "pollMs"?)`,
      `${f}:27:11: devices[1].unit: unit 1 is already used on bus "conv-1" by "wl-01" (line 22)`,
      `2 problem(s) in ${f}`,
      '',
    ])
  })

  it('gives the issues as JSON with --json, and exits 1', async () => {
    const f = `${FIXTURES}/unknown-profile.yaml`
    const r = await muni('edge', 'validate', '--json', f)
    expect(r).toMatchObject({ code: 1, err: '' })
    expect(JSON.parse(r.out)).toEqual({
      ok: false,
      file: f,
      issues: [
        {
          file: f,
          line: 27,
          column: 14,
          field: 'devices[1].profile',
          reason: 'cividrain-mc200@1.5 is not a shipped profile; cividrain-mc200@1.4, cividrain-mc200@2.1 are',
        },
      ],
    })
  })

  it('names a file that does not exist', async () => {
    const r = await muni('edge', 'validate', 'no/such/gateway.yaml')
    expect(r).toMatchObject({ code: 1, out: '' })
    expect(r.err).toBe('no/such/gateway.yaml: no such file\n1 problem(s) in no/such/gateway.yaml\n')
  })

  it('names the unset variable of the broker password', async () => {
    const file = join(tmp, 'gateway.yaml')
    writeFileSync(file, WITH_PASSWORD.replace('mqtts://', 'mqtt://'))
    vi.stubEnv('MUNI_TEST_BROKER_PASSWORD', undefined)
    const r = await muni('edge', 'validate', file)
    expect(r.code).toBe(1)
    expect(r.err.split('\n')[0]).toBe(`${file}:6:16: broker.passwordEnv: environment variable MUNI_TEST_BROKER_PASSWORD is not set`)
  })

  it('uses a password from the environment and never prints it, in text or JSON, valid or not', async () => {
    const file = join(tmp, 'gateway.yaml')
    writeFileSync(file, WITH_PASSWORD)
    vi.stubEnv('MUNI_TEST_BROKER_PASSWORD', SECRET)

    const json = await muni('edge', 'validate', '--json', file)
    expect(json.code).toBe(0)
    expect(JSON.parse(json.out)).toEqual({
      ok: true,
      file,
      gateway: 'gw-test',
      site: 'site-test',
      broker: {
        url: 'mqtts://broker.example:8883',
        host: 'broker.example',
        port: 8883,
        tls: true,
        clientId: 'muni-edge-gw-test',
        username: 'gw-test',
        passwordEnv: 'MUNI_TEST_BROKER_PASSWORD',
      },
      buses: 1,
      devices: 2,
      disabled: 1,
      devicesByProfile: { 'cividrain-mc200@2.1': 2 },
      issues: [],
    })

    const text = await muni('edge', 'validate', file)
    expect(text.code).toBe(0)
    expect(text.out).toContain(
      'broker   mqtts://broker.example:8883 (TLS), client id muni-edge-gw-test, user gw-test, password from $MUNI_TEST_BROKER_PASSWORD\n',
    )
    expect(text.out).toContain('devices  2 (1 disabled): 2 cividrain-mc200@2.1\n')

    writeFileSync(file, WITH_PASSWORD.replace('baud: 9600', 'baud: 9601'))
    const broken = await muni('edge', 'validate', '--json', file)
    expect(broken.code).toBe(1)
    expect(JSON.parse(broken.out).issues).toHaveLength(1)

    for (const r of [json, text, broken]) expect(r.out + r.err).not.toContain(SECRET)
  })

  it('has --help, and refuses a missing file argument', async () => {
    for (const argv of [['edge'], ['edge', 'validate']]) {
      const r = await muni(...argv, '--help')
      expect(r.code, argv.join(' ')).toBe(0)
      expect(r.out).toContain(`Usage: muni ${argv.join(' ')}`)
    }
    const r = await muni('edge', 'validate')
    expect(r.code).toBe(1)
    expect(r.err).toContain("missing required argument 'file'")
  })
})

describe('muni edge run', () => {
  it('refuses an invalid config with file:line:column: field: reason and exit 1, before running anything', async () => {
    const f = `${FIXTURES}/two-defects.yaml`
    const r = await muni('edge', 'run', '--config', f)
    expect(r).toMatchObject({ code: 1, out: '' })
    expect(r.err.split('\n')).toEqual([
      `${f}:24:5: devices[0].pollms: unknown field (did you mean "pollMs"?)`,
      `${f}:27:11: devices[1].unit: unit 1 is already used on bus "conv-1" by "wl-01" (line 22)`,
      `2 problem(s) in ${f}`,
      '',
    ])
  })

  it('needs --config', async () => {
    const r = await muni('edge', 'run')
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/--config/)
  })
})

describe('muni edge status', () => {
  it('says clearly when no agent answers, exit 1', async () => {
    const { createServer } = await import('node:net')
    const srv = createServer()
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()))
    const port = (srv.address() as { port: number }).port
    await new Promise<void>((resolve) => srv.close(() => resolve()))
    const r = await muni('edge', 'status', '--url', `http://127.0.0.1:${port}`)
    expect(r).toMatchObject({ code: 1, out: '' })
    expect(r.err).toMatch(new RegExp(`^cannot reach the edge agent at http://127\\.0\\.0\\.1:${port}/health: .*ECONNREFUSED.*is \`muni edge run\` running\\?\\)\\n$`))
  })

  it('takes the port from the config, and says when the config has none', async () => {
    const f = join(tmp, 'no-http.yaml')
    writeFileSync(f, WITH_PASSWORD.replace('mqtts://broker.example:8883', 'mqtt://broker.example:1883').replace(/  username.*\n  passwordEnv.*\n/, ''))
    writeFileSync(join(tmp, 'buffer.sqlite'), '')
    const r = await muni('edge', 'status', '--config', f)
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/no http\.port/)
  })

  it('needs --url or --config', async () => {
    const r = await muni('edge', 'status')
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/--url .* or --config/)
  })
})
