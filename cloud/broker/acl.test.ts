import { describe, expect, it } from 'vitest'
import { mayReceive, publishDenial, subscribeDenial, type Identity } from './acl.ts'

const gw: Identity = { role: 'gateway', username: 'u', site: 'north', gateway: 'gw-01' }
const cloud: Identity = { role: 'cloud', username: 'ingest' }
const anon: Identity = { role: 'anonymous' }

describe('publish ACL', () => {
  it.each([
    [gw, 'muni/v1/north/gw-01/telemetry', true],
    [gw, 'muni/v1/north/gw-01/state', true],
    [gw, 'muni/v1/north/gw-01/birth', true],
    [gw, 'muni/v1/north/gw-01/events', true],
    [gw, 'muni/v1/north/gw-01/command/response', true],
    [gw, 'muni/v1/north/gw-01/command', false],
    [gw, 'muni/v1/north/gw-02/telemetry', false],
    [gw, 'muni/v1/south/gw-01/state', false],
    [gw, 'muni/v1/north/gw-01/telemetry/extra', false],
    [gw, 'muni/v2/north/gw-01/telemetry', false],
    [gw, 'muni/v1/north/+/telemetry', false],
    [gw, 'muni/v1/north/gw-01/#', false],
    [gw, '$SYS/x', false],
    [gw, 'other/topic', false],
    [cloud, 'muni/v1/north/gw-01/command', true],
    [cloud, 'muni/v1/south/gw-09/command', true],
    [cloud, 'muni/v1/+/+/command', false],
    [cloud, 'muni/v1/north/gw-01/telemetry', false],
    [cloud, 'muni/v1/north/gw-01/state', false],
    [cloud, 'muni/v1/north/gw-01/command/response', false],
    [anon, 'anything/at/all', true],
    [anon, 'muni/v1/north/gw-01/command', true],
    [anon, '$SYS/broker', false],
    [anon, 'a/+/b', false],
    [anon, '', false],
  ] as const)('%o publishing %s: %s', (id, topic, allowed) => {
    expect(publishDenial(id, topic) === undefined).toBe(allowed)
  })

  it('says why', () => {
    expect(publishDenial(gw, 'muni/v1/north/gw-02/telemetry')).toBe('gateway north/gw-01 may publish only under muni/v1/north/gw-01/')
    expect(publishDenial(gw, 'muni/v1/north/gw-01/command')).toBe('a gateway does not publish command topics')
    expect(publishDenial(cloud, 'muni/v1/north/gw-01/telemetry')).toBe('the cloud publishes only command topics, not telemetry')
    expect(publishDenial(cloud, 'a/#')).toBe('wildcards are not allowed in a topic name [MQTT-3.3.2-2]')
  })
})

describe('subscribe ACL', () => {
  it.each([
    [gw, 'muni/v1/north/gw-01/command', true],
    [gw, 'muni/v1/north/gw-01/#', false],
    [gw, 'muni/v1/north/gw-01/+', false],
    [gw, 'muni/v1/north/gw-02/command', false],
    [gw, 'muni/v1/+/+/command', false],
    [gw, '#', false],
    [gw, '$SYS/#', false],
    [cloud, '#', true],
    [cloud, 'muni/v1/+/+/telemetry', true],
    [cloud, '$SYS/#', true],
    [anon, '#', true],
  ] as const)('%o subscribing to %s: %s', (id, filter, allowed) => {
    expect(subscribeDenial(id, filter) === undefined).toBe(allowed)
  })

  it('delivers to a gateway only its own commands', () => {
    expect(mayReceive(gw, 'muni/v1/north/gw-01/command')).toBe(true)
    expect(mayReceive(gw, 'muni/v1/north/gw-02/command')).toBe(false)
    expect(mayReceive(gw, 'muni/v1/north/gw-01/telemetry')).toBe(false)
    expect(mayReceive(cloud, 'muni/v1/north/gw-01/telemetry')).toBe(true)
  })
})
