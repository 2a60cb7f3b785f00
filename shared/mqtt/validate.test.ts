import { describe, expect, it } from 'vitest'
import { EXAMPLE_GATEWAY, EXAMPLE_SITE, examples } from './examples.ts'
import { LIMITS, type MessageByKind } from './messages.ts'
import { TOPIC_KINDS, type TopicKind } from './topics.ts'
import { MAX_VIOLATIONS, validateMessage } from './validate.ts'

const address = { site: EXAMPLE_SITE, gateway: EXAMPLE_GATEWAY }
/** A mutable deep copy of the example of `kind`, typed loosely so tests can break it. */
const copy = <K extends TopicKind>(kind: K): Record<string, any> => structuredClone(examples[kind]) as Record<string, any>
const v = (kind: TopicKind, value: unknown) => validateMessage(kind, value, address)

describe('valid messages', () => {
  it.each(TOPIC_KINDS)('the %s example is valid', (kind) => {
    expect(v(kind, examples[kind])).toEqual([])
  })

  it('accepts the smallest messages of every kind', () => {
    const small: { [K in TopicKind]: MessageByKind[K] } = {
      telemetry: { gateway: 'gw-01', seq: 0, sentAt: 0, readings: [{ device: 'd', ts: 0, values: {}, errors: { p: { code: 'timeout' } }, historical: false }] },
      state: { state: 'offline', session: 0 },
      birth: { gateway: 'gw-01', site: 'north', session: 0, ts: 0, agent: { name: 'a', version: '1' }, devices: [] },
      events: { device: 'd', ts: 0, event: 'available' },
      command: { type: 'rebirth', id: 'x', ts: 0 },
      'command/response': { id: 'x', ts: 0, ok: true },
    }
    for (const kind of TOPIC_KINDS) expect(v(kind, small[kind]), kind).toEqual([])
  })

  it('accepts every command type', () => {
    const base = { id: 'c1', ts: 1 }
    expect(v('command', { ...base, type: 'read', device: 'wl-0007' })).toEqual([])
    expect(v('command', { ...base, type: 'set-interval', device: 'wl-0007', intervalMs: 60_000, timeoutMs: 5_000 })).toEqual([])
    expect(v('command', { ...base, type: 'write', device: 'mc-0042', point: 'mode', value: 'auto' })).toEqual([])
    expect(v('command', { ...base, type: 'write', device: 'mc-0042', point: 'setpoint', value: -2.5 })).toEqual([])
  })

  it('accepts a failed command response with a Modbus cause', () => {
    const failed = { id: 'c1', ts: 1, ok: false, error: { code: 'device_error', message: 'illegal data address', cause: { code: 'exception', exception: 2 } } }
    expect(v('command/response', failed)).toEqual([])
  })

  it('accepts every device event', () => {
    expect(v('events', { device: 'd', ts: 1, event: 'available' })).toEqual([])
    expect(v('events', { device: 'd', ts: 1, event: 'unavailable' })).toEqual([])
    expect(v('events', { device: 'd', ts: 1, event: 'profile_mismatch', reason: 'firmware register says 2.0, profile is @1.4' })).toEqual([])
  })

  it('without an address, does not compare ids with the topic', () => {
    expect(validateMessage('telemetry', { ...copy('telemetry'), gateway: 'gw-99' })).toEqual([])
    expect(validateMessage('birth', { ...copy('birth'), site: 'south' })).toEqual([])
  })
})

describe('telemetry violations', () => {
  it('reports schema and semantic violations together', () => {
    const m = copy('telemetry')
    m.gateway = 'gw-02'
    m.seq = -1
    m.sentAt = 1.5
    m.extra = true
    m.readings[0].values = { tilt_deg: 'x'.repeat(LIMITS.stringValueLength + 1), Bad: 1, nested: {}, battery_v: 3.6 }
    m.readings[0].errors = { battery_v: { code: 'timeout' }, cover_open: { code: 'nope' } }
    m.readings[1].ts = -5
    delete m.readings[2].historical
    expect(v('telemetry', m)).toEqual([
      { path: '/extra', reason: 'unknown field' },
      { path: '/seq', reason: 'must be >= 0' },
      { path: '/sentAt', reason: 'must be integer' },
      { path: '/readings/0/values/tilt_deg', reason: 'must not have more than 256 characters' },
      { path: '/readings/0/values/nested', reason: 'must be either number or boolean or string' },
      { path: '/readings/0/values/Bad', reason: 'must match pattern "^[a-z][a-z0-9_]{0,62}$"' },
      {
        path: '/readings/0/errors/cover_open/code',
        reason: 'must be one of "sentinel", "nan", "out_of_range", "decode", "exception", "timeout", "crc", "transport", "stuck"',
      },
      { path: '/readings/1/ts', reason: 'must be >= 0' },
      { path: '/readings/2/historical', reason: 'is required' },
      { path: '/gateway', reason: 'must equal the topic\'s gateway "gw-01"' },
      { path: '/readings/0/errors/battery_v', reason: 'point is also in values (a point is in values or errors, never both)' },
    ])
  })

  it('rejects an empty batch, an empty reading and a duplicate (device, ts)', () => {
    expect(v('telemetry', { ...copy('telemetry'), readings: [] })).toEqual([{ path: '/readings', reason: 'must not have fewer than 1 items' }])
    const m = copy('telemetry')
    m.readings[1] = { ...m.readings[0], values: {}, errors: {} }
    expect(v('telemetry', m)).toEqual([
      { path: '/readings/1', reason: 'has no points (values and errors are both empty)' },
      { path: '/readings/1', reason: 'same device and ts as /readings/0 (merge them into one reading)' },
    ])
  })

  it('rejects non-finite numbers and a wrong historical type', () => {
    const m = copy('telemetry')
    m.readings[0].values.tilt_deg = Number.POSITIVE_INFINITY // what JSON.parse makes of 1e999
    m.readings[0].historical = 'no'
    expect(v('telemetry', m)).toEqual([
      { path: '/readings/0/values/tilt_deg', reason: 'must be either number or boolean or string' },
      { path: '/readings/0/historical', reason: 'must be boolean' },
    ])
  })

  it('bounds sizes', () => {
    const m = copy('telemetry')
    const reading = m.readings[0]
    m.readings = Array.from({ length: LIMITS.readingsPerBatch + 1 }, (_, i) => ({ ...reading, ts: i }))
    expect(v('telemetry', m)).toEqual([{ path: '/readings', reason: 'must not have more than 1000 items' }])
    const wide = copy('telemetry')
    wide.readings[0].values = Object.fromEntries(Array.from({ length: LIMITS.pointsPerReading + 1 }, (_, i) => [`p${i}`, i]))
    expect(v('telemetry', wide)).toEqual([{ path: '/readings/0/values', reason: 'must not have more than 256 properties' }])
  })

  it('checks device ids and timestamps', () => {
    const m = copy('telemetry')
    m.readings[0].device = 'mc/0042'
    m.readings[0].ts = LIMITS.timestampMs + 1
    m.sentAt = '2025-11-25T06:41:00Z'
    expect(v('telemetry', m)).toEqual([
      { path: '/sentAt', reason: 'must be integer' },
      { path: '/readings/0/device', reason: 'must match pattern "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"' },
      { path: '/readings/0/ts', reason: 'must be <= 8640000000000000' },
    ])
  })

  it('lists at most MAX_VIOLATIONS and says how many were cut', () => {
    const m = copy('telemetry')
    const reading = m.readings[0]
    m.readings = Array.from({ length: 150 }, (_, i) => ({ ...reading, ts: i, historical: 'no' }))
    const found = v('telemetry', m)
    expect(found).toHaveLength(MAX_VIOLATIONS + 1)
    expect(found[0]).toEqual({ path: '/readings/0/historical', reason: 'must be boolean' })
    expect(found[MAX_VIOLATIONS]).toEqual({ path: '', reason: '50 more violations not listed' })
  })
})

describe('birth violations', () => {
  it('reports schema violations, topic mismatches and duplicate devices', () => {
    const m = copy('birth')
    m.site = 'south'
    m.gateway = 'gw-02'
    m.agent = { name: 'muni-edge' }
    m.devices[0].kind = 'street-light'
    m.devices[0].profile = 'ACME_MC200'
    m.devices[0].unit = 256
    m.devices[0].location = { lat: 91, lon: 13.4 }
    m.devices[1].device = 'mc-0042'
    m.devices[1].serial = 'X1'
    m.devices.push({ ...m.devices[0], kind: 'water-level' })
    expect(v('birth', m)).toEqual([
      { path: '/agent/version', reason: 'is required' },
      { path: '/devices/0/profile', reason: 'must match pattern "^[a-z0-9]+(?:-[a-z0-9]+)*@[0-9A-Za-z][0-9A-Za-z._-]*$"' },
      { path: '/devices/0/kind', reason: 'must be one of "manhole-cover", "water-level", "pipe-pressure"' },
      { path: '/devices/0/unit', reason: 'must be <= 255' },
      { path: '/devices/0/location/lat', reason: 'must be <= 90' },
      { path: '/devices/1/serial', reason: 'unknown field' },
      { path: '/devices/2/profile', reason: 'must match pattern "^[a-z0-9]+(?:-[a-z0-9]+)*@[0-9A-Za-z][0-9A-Za-z._-]*$"' },
      { path: '/devices/2/unit', reason: 'must be <= 255' },
      { path: '/devices/2/location/lat', reason: 'must be <= 90' },
      { path: '/gateway', reason: 'must equal the topic\'s gateway "gw-01"' },
      { path: '/site', reason: 'must equal the topic\'s site "north"' },
      { path: '/devices/1/device', reason: 'duplicate of /devices/0/device' },
      { path: '/devices/2/device', reason: 'duplicate of /devices/0/device' },
    ])
  })

  it('requires every top-level field', () => {
    expect(v('birth', {})).toEqual(
      ['gateway', 'site', 'session', 'ts', 'agent', 'devices'].map((f) => ({ path: `/${f}`, reason: 'is required' })),
    )
  })
})

describe('state violations', () => {
  it.each<[unknown, { path: string; reason: string }[]]>([
    [{ state: 'sleeping', session: 1 }, [{ path: '/state', reason: 'must be one of "online", "offline"' }]],
    [{ state: 'online' }, [{ path: '/session', reason: 'is required' }]],
    [{ state: 'online', session: 1.5, ts: -1 }, [{ path: '/session', reason: 'must be integer' }, { path: '/ts', reason: 'must be >= 0' }]],
    [{ state: 'offline', session: 1, reason: 'will' }, [{ path: '/reason', reason: 'unknown field' }]],
    ['online', [{ path: '', reason: 'must be object' }]],
    [null, [{ path: '', reason: 'must be object' }]],
    [[], [{ path: '', reason: 'must be object' }]],
  ])('%j', (value, expected) => {
    expect(v('state', value)).toEqual(expected)
  })
})

describe('device event violations', () => {
  it.each<[unknown, { path: string; reason: string }[]]>([
    [{ device: 'd', ts: 1, event: 'exploded' }, [{ path: '/event', reason: 'must be one of "available", "unavailable", "profile_mismatch"' }]],
    [{ device: 'd', ts: 1, event: 'available', error: { code: 'timeout' } }, [{ path: '/error', reason: 'is only allowed when event is "unavailable"' }]],
    [{ device: 'd', ts: 1, event: 'profile_mismatch' }, [{ path: '/reason', reason: 'is required when event is "profile_mismatch"' }]],
    [{ device: 'd', ts: 1, event: 'unavailable', reason: '' }, [{ path: '/reason', reason: 'must not have fewer than 1 characters' }]],
    [
      { device: 'd', ts: 1, event: 'unavailable', error: { code: 'exception', exception: 0, extra: 1 } },
      [
        { path: '/error/extra', reason: 'unknown field' },
        { path: '/error/exception', reason: 'must be >= 1' },
      ],
    ],
    [{ ts: 1, event: 'available' }, [{ path: '/device', reason: 'is required' }]],
  ])('%j', (value, expected) => {
    expect(v('events', value)).toEqual(expected)
  })
})

describe('command request violations', () => {
  it.each<[unknown, { path: string; reason: string }[]]>([
    // the discriminator picks the variant, whose errors are exact
    [
      { type: 'write', id: 'c1', ts: 1, device: 'mc-0042', point: 'Mode', value: null },
      [
        { path: '/point', reason: 'must match pattern "^[a-z][a-z0-9_]{0,62}$"' },
        { path: '/value', reason: 'must be either number or boolean or string' },
      ],
    ],
    [{ type: 'write', id: 'c1', ts: 1, device: 'mc-0042' }, [{ path: '/point', reason: 'is required' }, { path: '/value', reason: 'is required' }]],
    [{ type: 'read', id: 'c1', ts: 1, device: 'd', point: 'level_m' }, [{ path: '/point', reason: 'unknown field' }]],
    [{ type: 'rebirth', id: '', ts: 1, timeoutMs: 10 }, [{ path: '/id', reason: 'must not have fewer than 1 characters' }, { path: '/timeoutMs', reason: 'must be >= 100' }]],
    [{ type: 'set-interval', id: 'c1', ts: 1, device: 'd', intervalMs: 50 }, [{ path: '/intervalMs', reason: 'must be >= 100' }]],
    // a missing or unknown discriminator is reported with the shared fields
    [{ type: 'reboot', id: 7, ts: 1 }, [{ path: '/type', reason: 'must be one of "write", "read", "rebirth", "set-interval"' }, { path: '/id', reason: 'must be string' }]],
    [{ id: 'c1' }, [{ path: '/type', reason: 'is required' }, { path: '/ts', reason: 'is required' }]],
    [[{ type: 'read' }], [{ path: '', reason: 'must be object' }]],
  ])('%j', (value, expected) => {
    expect(v('command', value)).toEqual(expected)
  })
})

describe('command response violations', () => {
  it.each<[unknown, { path: string; reason: string }[]]>([
    [{ id: 'c1', ts: 1, ok: false }, [{ path: '/error', reason: 'is required' }]],
    [{ id: 'c1', ts: 1, ok: true, error: { code: 'busy', message: 'queue full' } }, [{ path: '/error', reason: 'unknown field' }]],
    [{ id: 'c1', ts: 1, ok: 'yes' }, [{ path: '/ok', reason: 'must be one of true, false' }]],
    [{ id: 'c1' }, [{ path: '/ok', reason: 'is required' }, { path: '/ts', reason: 'is required' }]],
    [
      { id: 'c1', ts: 1, ok: false, error: { code: 'kaput', message: '' } },
      [
        { path: '/error/code', reason: 'must be one of "unknown_device", "unknown_point", "not_writable", "out_of_range", "invalid", "timeout", "expired", "busy", "device_error"' },
        { path: '/error/message', reason: 'must not have fewer than 1 characters' },
      ],
    ],
    [
      { id: 'c1', ts: 1, ok: true, result: { device: 'd', ts: 1, values: { a: 1 }, errors: { a: { code: 'nan' } }, historical: false } },
      [{ path: '/result/errors/a', reason: 'point is also in values (a point is in values or errors, never both)' }],
    ],
  ])('%j', (value, expected) => {
    expect(v('command/response', value)).toEqual(expected)
  })
})
