import { describe, expect, it } from 'vitest'
import { loadDistrictFile } from '../districts/load.ts'
import { loadProfileLibrary } from './load.ts'
import { planDistrict, planProfile, relocateTcp } from './plan.ts'

const lib = loadProfileLibrary()
const district = loadDistrictFile(undefined, { profiles: lib.profiles }).district!

describe('planDistrict (the sample)', () => {
  const plan = planDistrict(district, lib.profiles)

  it('has every device, with its site, and every bus that carries one', () => {
    expect(plan.devices).toHaveLength(35)
    expect(plan.devices.find((d) => d.id === 'mh-gqm-06')).toMatchObject({ kind: 'manhole-cover', gateway: 'gw-guangqumen', site: 'dc-south', bus: 'conv-1', unit: 10, model: { linkedLevel: 'wl-gqm-01' } })
    expect(plan.buses.map((b) => [b.gateway, b.id, b.transport.type, b.devices.length])).toEqual([
      ['gw-guangqumen', 'conv-1', 'tcp', 12],
      ['gw-dongzhimen', 'rs485-1', 'rtu', 11],
      ['gw-jianguomen', 'rs485-1', 'rtu', 6],
      ['gw-jianguomen', 'conv-1', 'tcp', 6],
    ])
  })

  it('moves TCP buses to this machine: port + offset, the next one when two share it', () => {
    const moved = relocateTcp(plan, { host: '127.0.0.1', portOffset: 5000, freePorts: false })
    expect(moved.buses.filter((b) => b.transport.type === 'tcp').map((b) => b.transport)).toEqual([
      { type: 'tcp', host: '127.0.0.1', port: 5502 },
      { type: 'tcp', host: '127.0.0.1', port: 5503 },
    ])
    expect(moved.buses.filter((b) => b.transport.type === 'rtu')).toEqual(plan.buses.filter((b) => b.transport.type === 'rtu'))
  })

  it('lets the OS pick ports on request, and refuses a port above 65535', () => {
    const free = relocateTcp(plan, { host: '127.0.0.1', portOffset: 0, freePorts: true })
    expect(free.buses.flatMap((b) => (b.transport.type === 'tcp' ? [b.transport.port] : []))).toEqual([0, 0])
    expect(() => relocateTcp(plan, { host: '127.0.0.1', portOffset: 65100, freePorts: false })).toThrow(/above 65535/)
  })
})

describe('planProfile', () => {
  it('puts one device per unit id on one bus', () => {
    const profile = lib.profiles.get('hydrolux-rl80@2.3')!
    const plan = planProfile(profile, [1, 7], { type: 'tcp', host: '127.0.0.1', port: 0 })
    expect(plan.devices.map((d) => [d.id, d.unit, d.kind])).toEqual([
      ['unit-1', 1, 'water-level'],
      ['unit-7', 7, 'water-level'],
    ])
    expect(plan.buses).toEqual([{ gateway: 'sim', id: 'tcp', transport: { type: 'tcp', host: '127.0.0.1', port: 0 }, devices: ['unit-1', 'unit-7'] }])
  })
})
