import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { inspect } from 'node:util'
import fc from 'fast-check'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml, stringify } from 'yaml'
import { parseDistrict } from '../../shared/district/parse.ts'
import { formatIssue } from '../../shared/yaml/issue.ts'
import { DEFAULT_PROFILES_DIR, loadProfiles } from '../profiles/load.ts'
import { loadConfig, parseConfig, type LoadConfigOptions } from './load.ts'

const BASE = `gateway: gw-test
site: site-test
broker:
  url: mqtt://localhost:1883
buffer:
  path: buffer.sqlite
buses:
  - id: conv-1
    type: tcp
    host: 10.0.0.10
    port: 502
  - id: rs485-1
    type: rtu
    path: /dev/ttyUSB0
    baud: 9600
    parity: none
    stopBits: 1
devices:
  - id: wl-01
    bus: conv-1
    unit: 1
    profile: hydrolux-rl80@2.3
  - id: mh-01
    bus: rs485-1
    unit: 1
    profile: cividrain-mc200@2.1
`

const SECRET = 'Tr0ub4dor&3-never-printed'
let profiles: LoadConfigOptions['profiles']
let tmp: string | undefined

beforeAll(() => {
  profiles = loadProfiles().profiles
})
afterEach(() => {
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true })
  tmp = undefined
})

const parse = (text: string, options: Partial<LoadConfigOptions & { baseDir: string }> = {}) =>
  parseConfig(text, 'gw.yaml', { env: {}, profiles, baseDir: process.cwd(), ...options })
const issues = (text: string, options: Partial<LoadConfigOptions & { baseDir: string }> = {}): string[] => parse(text, options).issues.map(formatIssue)

/** BASE with `old` replaced (exactly once). */
function edit(old: string, by: string, text = BASE): string {
  expect(text.split(old).length, old).toBe(2)
  return text.replace(old, by)
}

describe('the sample config', () => {
  const file = 'edge/config/examples/gateway.yaml'

  it('validates, with the shipped profiles read from disk', () => {
    const r = loadConfig(file, { env: {} })
    expect(r.issues.map(formatIssue)).toEqual([])
    expect(r.config?.gateway).toBe('gw-guangqumen')
  })

  it('is the Guangqumen gateway of the sample district: same site, bus, devices, units and profiles', () => {
    const district = parseDistrict(readFileSync('simulators/districts/sample.yaml', 'utf8'), 'sample.yaml')
    const gw = district.district?.gateways.find((g) => g.id === 'gw-guangqumen')
    const config = loadConfig(file, { env: {} }).config
    expect(config?.site).toBe(gw?.site)
    expect(config?.buses.map((b) => (b.type === 'tcp' ? [b.id, b.host, b.port] : [b.id]))).toEqual(
      gw?.buses.map((b) => (b.type === 'tcp' ? [b.id, b.host, b.port] : [b.id])),
    )
    const devices = district.district?.devices.filter((d) => d.gateway === 'gw-guangqumen').map((d) => [d.id, d.bus, d.unit, d.profile])
    expect(config?.devices.map((d) => [d.id, d.bus, d.unit, d.profile])).toEqual(devices)
  })
})

describe('loadConfig', () => {
  it('applies the defaults, makes paths absolute and freezes the result', () => {
    const r = parse(edit('    profile: cividrain-mc200@2.1\n', '    profile: cividrain-mc200@2.1\n    poll: { slow: 120000 }\n    enabled: false\n'))
    expect(r.issues).toEqual([])
    const c = r.config
    expect(c?.broker).toEqual({ url: 'mqtt://localhost:1883', scheme: 'mqtt', host: 'localhost', port: 1883, clientId: 'muni-edge-gw-test', keepaliveS: 60, reconnectMaxS: 60 })
    expect(c?.buffer).toEqual({ path: resolve('buffer.sqlite'), maxReadings: 1_000_000, maxAgeH: 168 })
    expect(c?.http).toBeUndefined()
    expect(c?.profilesDir).toBe(DEFAULT_PROFILES_DIR)
    expect(c?.defaults).toEqual({ pollMs: { fast: 5000, slow: 60000 }, timeoutMs: 1000, retries: 2, backoff: { initialMs: 1000, maxMs: 60000 } })
    expect(c?.buses).toEqual([
      { id: 'conv-1', type: 'tcp', host: '10.0.0.10', port: 502, concurrency: 1, timeoutMs: 1000 },
      // 3.5 characters of 11 bits at 9600 baud = 4.0104 ms, rounded up.
      { id: 'rs485-1', type: 'rtu', path: '/dev/ttyUSB0', baud: 9600, parity: 'none', dataBits: 8, stopBits: 1, timeoutMs: 1000, interFrameMs: 4.02 },
    ])
    expect(c?.devices[0]).toEqual({ id: 'wl-01', bus: 'conv-1', unit: 1, profile: 'hydrolux-rl80@2.3', nodes: {}, enabled: true, poll: { fast: 5000, slow: 60000 }, deadband: {}, heartbeatS: 900 })
    // poll classes fall back to the defaults one by one; the heartbeat is the profile's.
    expect(c?.devices[1]).toMatchObject({ enabled: false, poll: { fast: 5000, slow: 120000 }, heartbeatS: 3600 })
    expect(Object.isFrozen(c)).toBe(true)
    expect(Object.isFrozen(c?.devices[1]?.poll)).toBe(true)
    expect(Object.isFrozen(c?.buses)).toBe(true)
  })

  it('gives pollMs to both poll classes, and the fast baud rates the fixed 1.75 ms frame gap', () => {
    const r = parse(edit('baud: 9600', 'baud: 38400', edit('    profile: hydrolux-rl80@2.3\n', '    profile: hydrolux-rl80@2.3\n    pollMs: 10000\n')))
    expect(r.config?.devices[0]?.poll).toEqual({ fast: 10000, slow: 10000 })
    expect(r.config?.buses[1]).toMatchObject({ interFrameMs: 1.75 })
  })

  it('names a file it cannot read without a position', () => {
    expect(loadConfig('no/such/gateway.yaml').issues).toEqual([{ file: 'no/such/gateway.yaml', line: 0, column: 0, field: '', reason: 'no such file' }])
  })

  it('reports schema violations and semantic problems of one file in one run', () => {
    const text = edit('    parity: none', '    parity: mark', edit('cividrain-mc200@2.1', 'cividrain-mc200@9', edit('  url: mqtt://localhost:1883', '  url: tcp://localhost:1883')))
    expect(issues(text)).toEqual([
      'gw.yaml:4:8: broker.url: scheme "tcp" is not supported; use mqtt://, mqtts://, ws:// or wss://',
      'gw.yaml:16:13: buses[1].parity: must be one of "none", "even", "odd"',
      'gw.yaml:26:14: devices[1].profile: cividrain-mc200@9 is not a shipped profile; cividrain-mc200@1.4, cividrain-mc200@2.1 are',
    ])
  })

  it('does not blame a device for its bus when the bus itself is broken', () => {
    expect(issues(edit('    host: 10.0.0.10\n', ''))).toEqual(['gw.yaml:8:5: buses[0].host: is required'])
  })

  it('lets a disabled device keep the unit id of the one that replaced it', () => {
    const replaced = edit('    bus: rs485-1\n    unit: 1\n    profile: cividrain-mc200@2.1\n', '    bus: conv-1\n    unit: 1\n    profile: cividrain-mc200@2.1\n    enabled: false\n')
    expect(issues(replaced)).toEqual([])
  })

  it('accepts unit 0 and 255 on TCP, and refuses the reserved 248–255 on RTU', () => {
    expect(issues(edit('    bus: conv-1\n    unit: 1', '    bus: conv-1\n    unit: 255'))).toEqual([])
    expect(issues(edit('    bus: conv-1\n    unit: 1', '    bus: conv-1\n    unit: 0'))).toEqual([])
    expect(issues(edit('    bus: rs485-1\n    unit: 1', '    bus: rs485-1\n    unit: 248'))).toEqual([
      'gw.yaml:25:11: devices[1].unit: unit 248 is reserved on RTU bus "rs485-1"; a device there has a unit id from 1 to 247 (Modbus over Serial Line v1.02 §2.2)',
    ])
    expect(issues(edit('    bus: conv-1\n    unit: 1', '    bus: conv-1\n    unit: 256'))).toEqual(['gw.yaml:21:11: devices[0].unit: must be <= 255'])
  })

  it('refuses a second bus on one serial port and an inter-frame gap shorter than 3.5 characters', () => {
    const text = `${BASE.replace('devices:\n', '  - id: rs485-2\n    type: rtu\n    path: /dev/ttyUSB0\n    baud: 9600\n    parity: none\n    stopBits: 1\n    interFrameMs: 2\ndevices:\n')}`
    expect(issues(text)).toEqual([
      'gw.yaml:20:11: buses[2].path: /dev/ttyUSB0 is already the port of bus "rs485-1" (line 14); one serial port is one bus',
      'gw.yaml:24:19: buses[2].interFrameMs: 2 ms is shorter than the 4.02 ms of silence that ends an RTU frame at 9600 baud (Modbus over Serial Line v1.02 §2.5.1.1)',
    ])
  })

  it('checks the backoff and poll order of the defaults', () => {
    const text = edit('buses:\n', 'defaults:\n  pollMs: { fast: 90000 }\n  backoff: { initialMs: 120000 }\nbuses:\n')
    expect(issues(text)).toEqual([
      'gw.yaml:8:19: defaults.pollMs.fast: 90000 ms is longer than the slow interval 60000 ms; fast points are polled more often than slow ones',
      'gw.yaml:9:25: defaults.backoff.initialMs: 120000 ms is longer than backoff.maxMs 60000 ms',
    ])
  })

  it('suggests a close id when no other version of the model is shipped, else where to look', () => {
    expect(issues(edit('hydrolux-rl80@2.3', 'hydrolux-rl08@2.3'))).toEqual([
      'gw.yaml:22:14: devices[0].profile: hydrolux-rl08@2.3 is not a shipped profile; did you mean hydrolux-rl80@2.3?',
    ])
    expect(issues(edit('hydrolux-rl80@2.3', 'acme-x1@1'))).toEqual([
      'gw.yaml:22:14: devices[0].profile: acme-x1@1 is not a shipped profile (`muni profiles list` shows them)',
    ])
  })

  it('suggests the field of the bus type actually written', () => {
    expect(issues(edit('    stopBits: 1\n', '    stopBits: 1\n    interframeMs: 5\n'))).toEqual([
      'gw.yaml:18:5: buses[1].interframeMs: unknown field (did you mean "interFrameMs"?)',
    ])
  })

  it('refuses a client certificate without its key', () => {
    tmp = mkdtempSync(join(tmpdir(), 'muni-config-'))
    writeFileSync(join(tmp, 'gw.crt'), 'PEM')
    const text = edit('  url: mqtt://localhost:1883\n', '  url: mqtts://localhost:8883\n  tls:\n    cert: gw.crt\n')
    expect(issues(text, { baseDir: tmp })).toEqual(['gw.yaml:6:5: broker.tls.cert: needs tls.key, the private key of the client certificate'])
  })
})

describe('files and folders', () => {
  it('reads TLS files relative to the config file and keeps their absolute paths', () => {
    tmp = mkdtempSync(join(tmpdir(), 'muni-config-'))
    mkdirSync(join(tmp, 'tls'))
    for (const f of ['ca.pem', 'gw.crt', 'gw.key']) writeFileSync(join(tmp, 'tls', f), 'PEM')
    const text = edit(
      '  url: mqtt://localhost:1883\n',
      '  url: mqtts://broker.example:8883\n  tls:\n    ca: tls/ca.pem\n    cert: tls/gw.crt\n    key: tls/gw.key\n',
    )
    writeFileSync(join(tmp, 'gw.yaml'), text)
    const r = loadConfig(join(tmp, 'gw.yaml'), { env: {}, profiles })
    expect(r.issues).toEqual([])
    expect(r.config?.broker).toMatchObject({
      scheme: 'mqtts',
      host: 'broker.example',
      port: 8883,
      tls: { ca: join(tmp, 'tls', 'ca.pem'), cert: join(tmp, 'tls', 'gw.crt'), key: join(tmp, 'tls', 'gw.key'), rejectUnauthorized: true },
    })
    expect(r.config?.buffer.path).toBe(join(tmp, 'buffer.sqlite'))
  })

  it('names a TLS key that is missing, as resolved from the config folder', () => {
    tmp = mkdtempSync(join(tmpdir(), 'muni-config-'))
    writeFileSync(join(tmp, 'gw.crt'), 'PEM')
    const text = edit('  url: mqtt://localhost:1883\n', '  url: mqtts://localhost:8883\n  tls:\n    cert: gw.crt\n    key: gw.key\n')
    const [issue] = parse(text, { baseDir: tmp }).issues
    expect(issue).toMatchObject({ line: 7, column: 10, field: 'broker.tls.key' })
    expect(issue?.reason).toBe(`no such file: ${join(tmp, 'gw.key')}`)
  })

  it('refuses a buffer path that is a folder, or whose folder is a file', () => {
    expect(issues(edit('path: buffer.sqlite', 'path: /tmp'))).toEqual(['gw.yaml:6:9: buffer.path: /tmp is a folder; name the SQLite file to keep in it'])
    expect(issues(edit('path: buffer.sqlite', 'path: package.json/buffer.sqlite'))).toEqual(['gw.yaml:6:9: buffer.path: package.json is not a folder'])
  })

  it('reads the profiles from profilesDir, relative to the config file', () => {
    tmp = mkdtempSync(join(tmpdir(), 'muni-config-'))
    mkdirSync(join(tmp, 'profiles'))
    const hydrolux = join(DEFAULT_PROFILES_DIR, 'water-level', 'hydrolux-rl80@2.3.yaml')
    mkdirSync(join(tmp, 'profiles', 'water-level'))
    writeFileSync(join(tmp, 'profiles', 'water-level', 'hydrolux-rl80@2.3.yaml'), readFileSync(hydrolux))
    const text = edit('buses:\n', 'profilesDir: profiles\nbuses:\n')
    const r = parse(text, { baseDir: tmp, profiles: undefined })
    expect(r.issues.map((i) => `${i.line}:${i.column}: ${i.field}: ${i.reason.replaceAll(tmp ?? '', 'TMP')}`)).toEqual([
      '27:14: devices[1].profile: cividrain-mc200@2.1 is not a profile in TMP/profiles (`muni profiles list --dir TMP/profiles` shows them)',
    ])
  })

  it('names a profilesDir that does not exist', () => {
    expect(issues(edit('buses:\n', 'profilesDir: /nonexistent/muni-iot/profiles\nbuses:\n'), { profiles: undefined })).toEqual([
      'gw.yaml:7:14: profilesDir: no such folder: /nonexistent/muni-iot/profiles',
    ])
  })
})

describe('secrets', () => {
  const withPassword = edit('  url: mqtt://localhost:1883\n', '  url: mqtt://localhost:1883\n  username: gw-test\n  passwordEnv: MUNI_TEST_BROKER_PASSWORD\n')

  it('reads the broker password from the variable passwordEnv names, and never prints it', () => {
    const r = parse(withPassword, { env: { MUNI_TEST_BROKER_PASSWORD: SECRET } })
    expect(r.issues).toEqual([])
    expect(r.config?.broker.password?.reveal()).toBe(SECRET)
    expect(r.config?.broker.passwordEnv).toBe('MUNI_TEST_BROKER_PASSWORD')
    for (const shown of [JSON.stringify(r.config), inspect(r.config, { depth: null, showHidden: true }), String(r.config?.broker.password), `${r.config?.broker.password}`]) {
      expect(shown).not.toContain(SECRET)
    }
    expect(JSON.stringify(r.config?.broker)).toContain('"password":"[secret]"')
  })

  it('names the file, line, field and variable when the variable is unset or empty', () => {
    expect(issues(withPassword, { env: {} })).toEqual(['gw.yaml:6:16: broker.passwordEnv: environment variable MUNI_TEST_BROKER_PASSWORD is not set'])
    expect(issues(withPassword, { env: { MUNI_TEST_BROKER_PASSWORD: '' } })).toEqual(['gw.yaml:6:16: broker.passwordEnv: environment variable MUNI_TEST_BROKER_PASSWORD is empty'])
  })

  it('never echoes a password written into the file or the URL', () => {
    const inFile = edit('  url: mqtt://localhost:1883\n', `  url: mqtt://localhost:1883\n  username: gw-test\n  password: ${SECRET}\n`)
    const inUrl = edit('mqtt://localhost', `mqtt://gw-test:${encodeURIComponent(SECRET)}@localhost`)
    for (const text of [inFile, inUrl]) {
      const out = issues(text)
      expect(out).toHaveLength(1)
      expect(out.join('\n')).not.toContain(SECRET)
      expect(out.join('\n')).not.toContain(encodeURIComponent(SECRET))
    }
  })
})

describe('any input', () => {
  const wellFormed = (text: string): void => {
    const r = parse(text)
    expect(r.config === undefined).toBe(r.issues.length > 0)
    for (const i of r.issues) {
      expect(i.line).toBeGreaterThanOrEqual(1)
      expect(i.column).toBeGreaterThanOrEqual(1)
    }
  }

  it('never throws on a line of the base config deleted, or any two lines swapped', () => {
    const lines = BASE.split('\n')
    lines.forEach((_, i) => wellFormed(lines.filter((__, j) => j !== i).join('\n')))
    fc.assert(
      fc.property(fc.nat(lines.length - 1), fc.nat(lines.length - 1), (a, b) => {
        const swapped = [...lines]
        ;[swapped[a], swapped[b]] = [swapped[b] ?? '', swapped[a] ?? '']
        wellFormed(swapped.join('\n'))
      }),
      { numRuns: 200 },
    )
  })

  it('never throws when any top-level field holds any value', () => {
    const base = parseYaml(BASE) as Record<string, unknown>
    const keys = fc.constantFrom('gateway', 'site', 'broker', 'buffer', 'http', 'defaults', 'buses', 'devices', 'extra')
    fc.assert(
      fc.property(fc.dictionary(keys, fc.jsonValue({ maxDepth: 3 })), fc.jsonValue({ maxDepth: 2 }), (fields, whole) => {
        wellFormed(stringify({ ...base, ...fields }))
        wellFormed(stringify(whole))
      }),
      { numRuns: 300 },
    )
  })
})

describe('OPC UA buses', () => {
  const OPCUA = edit(
    `devices:\n`,
    `  - id: plc-1
    type: opcua
    endpoint: opc.tcp://10.0.0.20:4840/pumps
    username: edge
    passwordEnv: MUNI_TEST_OPCUA_PASSWORD
devices:
  - id: ps-01
    bus: plc-1
    profile: presstek-ptx40@5.2
    nodes:
      pressure_bar: ns=1;s=Pump1.Pressure
      temperature_c: ns=1;s=Pump1.Temperature
`,
  )

  it('resolves with defaults; the password comes from the environment and never prints', () => {
    const r = parse(OPCUA, { env: { MUNI_TEST_OPCUA_PASSWORD: SECRET } })
    expect(r.issues.map(formatIssue)).toEqual([])
    const bus = r.config?.buses.find((b) => b.id === 'plc-1')
    expect(bus).toMatchObject({ type: 'opcua', endpoint: 'opc.tcp://10.0.0.20:4840/pumps', securityMode: 'None', securityPolicy: 'None', mode: 'subscribe', samplingMs: 1000, timeoutMs: 5000, username: 'edge' })
    expect(bus?.type === 'opcua' && bus.password?.reveal()).toBe(SECRET)
    expect(JSON.stringify(r.config)).not.toContain(SECRET)
    const device = r.config?.devices.find((d) => d.id === 'ps-01')
    expect(device?.unit).toBeUndefined()
    expect(device?.nodes).toEqual({ pressure_bar: 'ns=1;s=Pump1.Pressure', temperature_c: 'ns=1;s=Pump1.Temperature' })
  })

  it('names the unset password variable, a policy without a mode, and a Modbus device without a unit, each at its field', () => {
    const text = edit('    endpoint: opc.tcp://10.0.0.20:4840/pumps\n', '    endpoint: opc.tcp://10.0.0.20:4840/pumps\n    securityPolicy: Basic256Sha256\n', OPCUA).replace('    unit: 1\n    profile: hydrolux-rl80@2.3\n', '    profile: hydrolux-rl80@2.3\n')
    expect(issues(text)).toEqual([
      'gw.yaml:21:21: buses[2].securityPolicy: Basic256Sha256 needs securityMode Sign or SignAndEncrypt; securityMode is None',
      'gw.yaml:23:18: buses[2].passwordEnv: environment variable MUNI_TEST_OPCUA_PASSWORD is not set',
      // The OPC UA device comes first (inserted before the others); wl-01 is devices[1], its `- id` on line 31.
      'gw.yaml:31:5: devices[1].unit: is required on Modbus bus "conv-1"',
    ])
  })
})
