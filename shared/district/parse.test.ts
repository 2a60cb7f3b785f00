import { describe, expect, it } from 'vitest'
import { parseDistrict } from './parse.ts'
import { formatIssue } from './source.ts'

const BASE = `district:
  id: test
  name: Test district
sites:
  - id: s1
    name: Site one
gateways:
  - id: gw1
    site: s1
    name: Gateway one
    location: { lat: 39.9, lon: 116.4 }
    buses:
      - id: tcp1
        type: tcp
        host: 10.0.0.2
        port: 502
      - id: rs1
        type: rtu
        path: /dev/ttyUSB0
        baud: 9600
        parity: none
        stopBits: 1
devices:
  - id: wl1
    kind: water-level
    gateway: gw1
    bus: tcp1
    unit: 1
    profile: hydrolux-rl80@2.3
    location: { lat: 39.9, lon: 116.4 }
    asset: WL-1
    street: Main Street
  - id: mh1
    kind: manhole-cover
    gateway: gw1
    bus: rs1
    unit: 1
    profile: cividrain-mc200@2.1
    location: { lat: 39.9, lon: 116.4 }
    asset: MH-1
    street: Main Street
    model: { wellDepthM: 2, linkedLevel: wl1 }
`

const issues = (text: string, options = {}): string[] => parseDistrict(text, 'd.yaml', options).issues.map(formatIssue)

describe('parseDistrict', () => {
  it('accepts a valid district (unit 1 on two buses is fine) and freezes it', () => {
    const r = parseDistrict(BASE, 'd.yaml')
    expect(r.issues).toEqual([])
    expect(r.district?.devices.map((d) => d.id)).toEqual(['wl1', 'mh1'])
    expect(Object.isFrozen(r.district?.devices[0]?.location)).toBe(true)
  })

  it.each([
    ['YAML syntax', BASE.replace('  name: Test district', '  name: [Test'), /^d\.yaml:\d+:\d+: /],
    ['duplicate key', BASE.replace('  name: Test district', '  name: Test district\n  name: Again'), /^d\.yaml:4:3: district\.name: duplicate key "name"/],
  ])('reports %s with a position', (_name, text, pattern) => {
    const out = issues(text)
    expect(out).toHaveLength(1)
    expect(out[0]).toMatch(pattern)
  })

  it.each([
    ['an unknown field at its key', BASE.replace('    asset: WL-1', '    asset: WL-1\n    colour: red'), 'd.yaml:32:5: devices[0].colour: unknown field'],
    ['a missing field at its parent map', BASE.replace('    street: Main Street\n  - id: mh1', '  - id: mh1'), 'd.yaml:24:5: devices[0].street: is required'],
    ['an id that cannot be an MQTT topic level', BASE.replace('  - id: s1', '  - id: s/1'), 'd.yaml:5:9: sites[0].id: must match pattern "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"'],
    ['a latitude out of range', BASE.replace('location: { lat: 39.9, lon: 116.4 }\n    asset: MH-1', 'location: { lat: 99.9, lon: 116.4 }\n    asset: MH-1'), 'd.yaml:39:22: devices[1].location.lat: must be <= 90'],
    ['a unit id outside 1–247', BASE.replace('    unit: 1\n    profile: hydrolux', '    unit: 248\n    profile: hydrolux'), 'd.yaml:28:11: devices[0].unit: must be <= 247'],
    ['a bad parity', BASE.replace('parity: none', 'parity: mark'), 'd.yaml:21:17: gateways[0].buses[1].parity: must be one of "none", "even", "odd"'],
    ['an unknown bus type', BASE.replace('type: tcp', 'type: udp'), 'd.yaml:14:15: gateways[0].buses[0].type: must be one of "tcp", "rtu"'],
    ['an unknown kind', BASE.replace('kind: water-level', 'kind: rain-gauge'), 'd.yaml:25:11: devices[0].kind: must be one of "water-level", "pipe-pressure", "manhole-cover"'],
    ['a malformed profile id', BASE.replace('profile: hydrolux-rl80@2.3', 'profile: Hydrolux RL80'), 'd.yaml:29:14: devices[0].profile: must match pattern "^[a-z0-9]+(?:-[a-z0-9]+)*@[0-9A-Za-z][0-9A-Za-z._-]*$"'],
  ])('schema: %s', (_name, text, expected) => {
    expect(issues(text)).toEqual([expected])
  })

  it.each([
    ['duplicate device id', BASE.replace('  - id: mh1', '  - id: wl1').replace(', linkedLevel: wl1', ''), ['d.yaml:33:9: devices[1].id: duplicate device id "wl1" (first at line 24)']],
    ['gateway site that does not exist', BASE.replace('    site: s1', '    site: s9'), ['d.yaml:9:11: gateways[0].site: no site "s9" (sites: s1)']],
    ['device on a gateway that does not exist', BASE.replace('    gateway: gw1\n    bus: tcp1', '    gateway: gw2\n    bus: tcp1'), ['d.yaml:26:14: devices[0].gateway: no gateway "gw2" (gateways: gw1)']],
    ['device on a bus the gateway lacks', BASE.replace('bus: rs1', 'bus: rs2'), ['d.yaml:36:10: devices[1].bus: gateway "gw1" has no bus "rs2" (buses: tcp1, rs1)']],
    ['two devices with one unit id on one bus', BASE.replace('bus: rs1', 'bus: tcp1'), ['d.yaml:37:11: devices[1].unit: unit 1 is already used on gw1/tcp1 by "wl1" (line 28)']],
    ['duplicate bus id', BASE.replace('      - id: rs1', '      - id: tcp1').replace('bus: rs1', 'bus: tcp1').replace('unit: 1\n    profile: cividrain', 'unit: 2\n    profile: cividrain'), ['d.yaml:17:13: gateways[0].buses[1].id: duplicate bus id "tcp1" on gateway "gw1" (first at line 13)']],
    ['cover linked to a device that does not exist', BASE.replace('linkedLevel: wl1', 'linkedLevel: wl9'), ['d.yaml:42:42: devices[1].model.linkedLevel: no device "wl9"']],
    ['cover linked to a non-water-level device', BASE.replace('linkedLevel: wl1', 'linkedLevel: mh1'), ['d.yaml:42:42: devices[1].model.linkedLevel: "mh1" is a manhole-cover device, not water-level']],
  ])('cross-reference: %s', (_name, text, expected) => {
    expect(issues(text)).toEqual(expected)
  })

  it('checks profiles against the library when given one', () => {
    const profiles = new Map([
      ['hydrolux-rl80@2.3', { kind: 'pipe-pressure' as const }],
      ['cividrain-mc200@1.4', { kind: 'manhole-cover' as const }],
    ])
    expect(issues(BASE, { profiles })).toEqual([
      'd.yaml:29:14: devices[0].profile: profile "hydrolux-rl80@2.3" is for pipe-pressure devices, not water-level',
      'd.yaml:38:14: devices[1].profile: no firmware profile "cividrain-mc200@2.1"',
    ])
  })

  it('names the allowed values for each of several devices and buses that fail a union', () => {
    const text = BASE.replace('kind: water-level', 'kind: rain-gauge').replace('kind: manhole-cover', 'kind: cover').replace('type: tcp', 'type: udp').replace('type: rtu', 'type: can')
    expect(issues(text)).toEqual([
      'd.yaml:14:15: gateways[0].buses[0].type: must be one of "tcp", "rtu"',
      'd.yaml:18:15: gateways[0].buses[1].type: must be one of "tcp", "rtu"',
      'd.yaml:25:11: devices[0].kind: must be one of "water-level", "pipe-pressure", "manhole-cover"',
      'd.yaml:34:11: devices[1].kind: must be one of "water-level", "pipe-pressure", "manhole-cover"',
    ])
  })

  it('explains an empty document', () => {
    expect(issues('')).toEqual(['d.yaml:1:1: the document is empty; a district is a map with district, sites, gateways, devices'])
  })

  it('reports errors in many devices, not just the first few', () => {
    const many = BASE + Array.from({ length: 12 }, (_, i) => `  - { id: x${i}, kind: water-level, gateway: gw1, bus: tcp1, unit: ${i + 2}, profile: p@1, location: { lat: 1, lon: 1 }, asset: A, street: S, colour: red }\n`).join('')
    expect(issues(many).filter((s) => s.includes('colour: unknown field'))).toHaveLength(12)
  })
})
