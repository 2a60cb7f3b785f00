import { describe, expect, it } from 'vitest'
import { lastWill } from '../../shared/mqtt/index.ts'
import { Secret } from '../config/secret.ts'
import { checkBroker, clientOptions, loggableUrl, redactingLog, scrubber, type BrokerOptions } from './connect-options.ts'

const broker: BrokerOptions = { url: 'mqtt://broker.example:1883', clientId: 'muni-edge-gw-01', username: 'gw-01', password: new Secret('s3cret-pw'), keepaliveS: 45 }

describe('clientOptions', () => {
  it('MQTT 3.1.1, persistent session with the stable id, the Will of this session, no MQTT.js reconnect', () => {
    const will = lastWill('north', 'gw-01', 57)
    const o = clientOptions(broker, will, { connectTimeoutMs: 9_000, log: () => {} })
    expect(o).toMatchObject({ protocolVersion: 4, clean: false, clientId: 'muni-edge-gw-01', keepalive: 45, connectTimeout: 9_000, reconnectPeriod: 0, resubscribe: false, writeCache: false, username: 'gw-01' })
    expect(o.will).toEqual({ topic: 'muni/v1/north/gw-01/state', payload: Buffer.from('{"state":"offline","session":57}'), qos: 1, retain: true })
    // A Buffer: mqtt-packet debug-logs strings it writes.
    expect(o.password).toEqual(Buffer.from('s3cret-pw'))
  })

  it('no credentials, no TLS, default keep alive', () => {
    const o = clientOptions({ url: 'mqtt://b:1883', clientId: 'c' }, lastWill('north', 'gw-01', 1), { connectTimeoutMs: 1, log: () => {} })
    expect(o.keepalive).toBe(60)
    expect('password' in o || 'username' in o || 'ca' in o).toBe(false)
  })
})

describe('checkBroker', () => {
  it.each([
    { url: 'mqtt://user:pw@b:1883', error: 'must not carry credentials' },
    { url: 'http://b', error: 'is not mqtt:' },
    { url: '::', error: 'not a valid URL' },
  ])('$url → $error', ({ url, error }) => {
    expect(() => checkBroker({ url, clientId: 'c' })).toThrow(error)
  })
  it('refuses an empty client id (the persistent session is keyed by it) and a password without a username', () => {
    expect(() => checkBroker({ url: 'mqtt://b', clientId: '' })).toThrow('clientId')
    expect(() => checkBroker({ url: 'mqtt://b', clientId: 'c', password: new Secret('x') })).toThrow('username')
  })
})

describe('keeping the password out of logs', () => {
  it('scrubs the text and the hex form of the password', () => {
    const scrub = scrubber(new Secret('pw!'))
    expect(scrub('a pw! b <Buffer 70 77 21>')).toBe('a [secret] b <Buffer [secret]>')
    expect(scrubber(undefined)('pw!')).toBe('pw!')
  })

  it('redacts password fields of what MQTT.js logs, and formats nothing without a sink', () => {
    const lines: string[] = []
    const log = redactingLog((l) => lines.push(l), scrubber(new Secret('pw!')))
    log('_writePacket :: packet: %O', { cmd: 'connect', password: Buffer.from('zzz'), will: { password: 'deep' } })
    expect(lines[0]).toContain("cmd: 'connect'")
    expect(lines[0]).toContain("password: '[secret]'")
    expect(lines[0]).not.toContain('zzz')
    expect(lines[0]).not.toContain('deep')
    let formatted = false
    redactingLog(undefined, (t) => t)({ toString: () => void (formatted = true) })
    expect(formatted).toBe(false)
  })

  it('URLs in logs never carry user info', () => {
    expect(loggableUrl('mqtts://u:p@b.example:8883/x')).toBe('mqtts://b.example:8883/x')
  })
})
