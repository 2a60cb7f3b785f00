/**
 * Every broken gateway config has one defect (two in `two-defects.yaml`) and the
 * exact `file:line:column: field: reason` it must produce. Line and column
 * numbers are written by hand from the fixture files, never computed by the
 * code under test.
 */
import { readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { formatIssue } from '../../shared/yaml/issue.ts'
import { loadConfig } from './load.ts'

const DIR = 'edge/config/__fixtures__'
const PLAIN = 'gateway configs are plain YAML: write each value out in full'
const ENV = { MUNI_TEST_BROKER_PASSWORD: 'not-used-by-these-tests' }

/** Fixture name → the exact issues, in order. */
const EXPECTED: Record<string, string[]> = {
  // --- YAML ---
  'yaml-syntax.yaml': [':24:5: Flow map in block collection must be sufficiently indented and end with a }'],
  'duplicate-key.yaml': [':13:5: buses[0].port: duplicate key "port" (map keys must be unique)'],
  'anchor-alias.yaml': [`:24:15: devices[0].location: anchor &here is not allowed; ${PLAIN}`, `:29:15: devices[1].location: alias *here is not allowed; ${PLAIN}`],
  'empty.yaml': [':1:1: the document is empty; a gateway config is a map with gateway, site, broker, buffer, buses, devices'],

  // --- schema ---
  'unknown-field.yaml': [':6:3: broker.keepalive: unknown field (did you mean "keepaliveS"?)'],
  'missing-field.yaml': [':24:5: devices[1].profile: is required'],
  'bad-enum.yaml': [':17:13: buses[1].parity: must be one of "none", "even", "odd"'],
  'bad-bus-type.yaml': [':10:11: buses[0].type: must be one of "tcp", "rtu", "opcua"'],
  'bad-id.yaml': [
    ':2:10: gateway: must match pattern "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$" ' +
      '(ASCII letter or digit, then up to 63 letters, digits, _ or - (usable as an MQTT topic level))',
  ],

  // --- broker and secrets ---
  'bad-url-scheme.yaml': [':5:8: broker.url: scheme "http" is not supported; use mqtt://, mqtts://, ws:// or wss://'],
  'url-credentials.yaml': [':5:8: broker.url: credentials do not belong in the URL; use broker.username and broker.passwordEnv'],
  'password-in-file.yaml': [
    ':7:3: broker.password: a password is never written in the config file; put it in an environment variable of the agent and name that variable in passwordEnv',
  ],
  'password-without-username.yaml': [':6:3: broker.passwordEnv: a password needs broker.username (MQTT 3.1.1 §3.1.2.9)'],
  'missing-env.yaml': [':7:16: broker.passwordEnv: environment variable MUNI_TEST_UNSET_PASSWORD is not set'],
  'env-placeholder.yaml': [
    ':6:13: broker.username: ${MUNI_USER} is not expanded: gateway configs read no environment variables except the one broker.passwordEnv names',
  ],
  'tls-on-plain.yaml': [':6:3: broker.tls: applies only to mqtts:// and wss:// URLs; broker.url is mqtt:// (not encrypted)'],
  'tls-file-missing.yaml': [':7:9: broker.tls.ca: no such file: /nonexistent/muni-iot/ca.pem'],
  'buffer-folder-missing.yaml': [':7:9: buffer.path: folder /nonexistent/muni-iot does not exist'],

  // --- buses ---
  'duplicate-bus-id.yaml': [':19:9: buses[2].id: duplicate bus id "conv-1" (first at line 9)'],
  'bad-baud.yaml': [':16:11: buses[1].baud: 9601 is not a standard baud rate; use one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200'],

  // --- devices ---
  'duplicate-device-id.yaml': [':24:9: devices[1].id: duplicate device id "wl-01" (first at line 20)'],
  'unknown-bus.yaml': [':25:10: devices[1].bus: no bus "rs485-2" (buses: conv-1, rs485-1)'],
  'duplicate-unit.yaml': [':26:11: devices[1].unit: unit 1 is already used on bus "conv-1" by "wl-01" (line 22)'],
  'rtu-unit-zero.yaml': [
    ':26:11: devices[1].unit: unit 0 is the broadcast address on RTU bus "rs485-1"; a device there has a unit id from 1 to 247 (Modbus over Serial Line v1.02 §2.2)',
  ],
  'unknown-profile.yaml': [':27:14: devices[1].profile: cividrain-mc200@1.5 is not a shipped profile; cividrain-mc200@1.4, cividrain-mc200@2.1 are'],
  'unknown-deadband-point.yaml': [':29:7: devices[1].deadband.tilt_degs: profile cividrain-mc200@2.1 has no point "tilt_degs" (did you mean "tilt_deg"?)'],
  'poll-too-fast.yaml': [':24:13: devices[0].pollMs: 50 ms is below the minimum poll interval of 100 ms'],
  'poll-and-pollms.yaml': [':25:5: devices[0].poll: give either pollMs (one interval for every point) or poll (an interval per poll class), not both'],
  'slow-faster-than-fast.yaml': [
    ':9:31: defaults.pollMs.slow: 1000 ms is shorter than the fast interval 5000 ms; slow points are polled less often than fast ones',
  ],

  // --- OPC UA ---
  'opcua-bad-endpoint.yaml': [':15:15: buses[1].endpoint: must match pattern "^opc\\.tcp://[^/:\\s]+(:\\d+)?(/\\S*)?$" (opc.tcp://host[:port][/path] of the server)'],
  'opcua-mode-without-policy.yaml': [':16:19: buses[1].securityMode: securityMode SignAndEncrypt needs a securityPolicy, e.g. Basic256Sha256'],
  'opcua-device-with-unit.yaml': [':23:5: devices[1].unit: bus "plc-1" is OPC UA: its devices have no unit id; name the node of each point in nodes'],
  'opcua-device-without-nodes.yaml': [':21:5: devices[1].nodes: is required on OPC UA bus "plc-1": the node of each point, e.g. pressure_bar: "ns=1;s=Pump1.Pressure"'],
  'opcua-unknown-node-point.yaml': [
    ':28:7: devices[1].nodes.temperature_degc: profile presstek-ptx40@5.2 has no point "temperature_degc" (`muni profiles show presstek-ptx40@5.2` lists them)',
  ],

  // --- everything at once ---
  'two-defects.yaml': [
    ':24:5: devices[0].pollms: unknown field (did you mean "pollMs"?)',
    ':27:11: devices[1].unit: unit 1 is already used on bus "conv-1" by "wl-01" (line 22)',
  ],
}

describe('broken gateway configs', () => {
  it('has an expectation for every fixture file and a file for every expectation', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()
    expect(files).toEqual(Object.keys(EXPECTED).sort())
  })

  it('has at least 12 fixtures', () => {
    expect(Object.keys(EXPECTED).length).toBeGreaterThanOrEqual(12)
  })

  it.each(Object.entries(EXPECTED))('%s', (name, expected) => {
    const file = `${DIR}/${name}`
    const r = loadConfig(file, { env: ENV })
    expect(r.config).toBeUndefined()
    expect(r.issues.map(formatIssue)).toEqual(expected.map((e) => `${file}${e}`))
  })
})
