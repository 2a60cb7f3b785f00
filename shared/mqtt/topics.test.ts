import { describe, expect, it } from 'vitest'
import { filters, isValidId, parseTopic, TOPIC_KINDS, TOPIC_SPECS, topicFor, topics, type ParsedTopic } from './topics.ts'

describe('topic builders', () => {
  it.each([
    ['telemetry', topics.telemetry, 'muni/v1/north/gw-01/telemetry'],
    ['state', topics.state, 'muni/v1/north/gw-01/state'],
    ['birth', topics.birth, 'muni/v1/north/gw-01/birth'],
    ['events', topics.events, 'muni/v1/north/gw-01/events'],
    ['command', topics.command, 'muni/v1/north/gw-01/command'],
    ['command/response', topics.commandResponse, 'muni/v1/north/gw-01/command/response'],
  ] as const)('%s', (kind, build, expected) => {
    expect(build('north', 'gw-01')).toBe(expected)
    expect(topicFor(kind, 'north', 'gw-01')).toBe(expected)
    expect(parseTopic(expected)).toEqual({ kind, site: 'north', gateway: 'gw-01' })
  })

  it('has a builder for every kind', () => {
    expect(Object.keys(topics)).toHaveLength(TOPIC_KINDS.length)
  })

  it.each([
    ['', 'gw-01', 'invalid site id "": must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'],
    ['north', '', 'invalid gateway id ""'],
    ['+', 'gw-01', 'invalid site id "+"'],
    ['north', '#', 'invalid gateway id "#"'],
    ['no/rth', 'gw-01', 'invalid site id "no/rth"'],
    ['$SYS', 'gw-01', 'invalid site id "$SYS"'],
    ['north', '-gw', 'invalid gateway id "-gw"'],
    ['north', 'gw 01', 'invalid gateway id "gw 01"'],
    ['a'.repeat(65), 'gw-01', 'invalid site id'],
  ])('throws on bad ids (site %j, gateway %j)', (site, gateway, message) => {
    expect(() => topics.telemetry(site, gateway)).toThrow(message)
    expect(() => filters.gateway(site, gateway)).toThrow(message)
    expect(() => filters.gatewayCommands(site, gateway)).toThrow(message)
  })

  it('throws on an unknown kind', () => {
    expect(() => topicFor('alarms' as never, 'north', 'gw-01')).toThrow('invalid topic kind "alarms"')
    expect(() => filters.all('alarms' as never)).toThrow('invalid topic kind "alarms"')
  })

  it('accepts ids at the length limit', () => {
    const id = `A${'_'.repeat(63)}`
    expect(isValidId(id)).toBe(true)
    expect(topics.state(id, id)).toBe(`muni/v1/${id}/${id}/state`)
  })
})

describe('filters', () => {
  it('builds subscription filters', () => {
    expect(filters.allTelemetry()).toBe('muni/v1/+/+/telemetry')
    expect(filters.all('command/response')).toBe('muni/v1/+/+/command/response')
    expect(filters.gateway('north', 'gw-01')).toBe('muni/v1/north/gw-01/#')
    expect(filters.gatewayCommands('north', 'gw-01')).toBe('muni/v1/north/gw-01/command')
  })

  it('gives the cloud every edge-published kind and not its own commands', () => {
    expect(filters.cloud()).toEqual([
      'muni/v1/+/+/telemetry',
      'muni/v1/+/+/state',
      'muni/v1/+/+/birth',
      'muni/v1/+/+/events',
      'muni/v1/+/+/command/response',
    ])
  })
})

describe('topic specs', () => {
  it('retains state and birth only; QoS 1 everywhere', () => {
    const retained = TOPIC_KINDS.filter((k) => TOPIC_SPECS[k].retain)
    expect(retained).toEqual(['state', 'birth'])
    expect(TOPIC_KINDS.every((k) => TOPIC_SPECS[k].qos === 1)).toBe(true)
    expect(TOPIC_KINDS.filter((k) => TOPIC_SPECS[k].publisher === 'cloud')).toEqual(['command'])
  })
})

describe('parseTopic', () => {
  const ok = (kind: ParsedTopic['kind'], site = 'north', gateway = 'gw-01'): ParsedTopic => ({ kind, site, gateway }) as ParsedTopic
  it.each<[string, ParsedTopic | undefined]>([
    ['muni/v1/north/gw-01/telemetry', ok('telemetry')],
    ['muni/v1/north/gw-01/state', ok('state')],
    ['muni/v1/north/gw-01/birth', ok('birth')],
    ['muni/v1/north/gw-01/events', ok('events')],
    ['muni/v1/north/gw-01/command', ok('command')],
    ['muni/v1/north/gw-01/command/response', ok('command/response')],
    ['muni/v1/S_1/G-2/telemetry', ok('telemetry', 'S_1', 'G-2')],
    // wrong root or version
    ['muni/v2/north/gw-01/telemetry', undefined],
    ['muni/V1/north/gw-01/telemetry', undefined],
    ['Muni/v1/north/gw-01/telemetry', undefined],
    ['iot/v1/north/gw-01/telemetry', undefined],
    // missing or extra levels
    ['muni/v1/north/telemetry', undefined],
    ['muni/v1/north/gw-01', undefined],
    ['muni/v1', undefined],
    ['muni/v1/north/gw-01/telemetry/extra', undefined],
    ['muni/v1/north/gw-01/command/response/x', undefined],
    ['muni/v1/north/gw-01/response', undefined],
    ['muni/v1/north/gw-01/state/', undefined],
    ['/muni/v1/north/gw-01/state', undefined],
    ['x/muni/v1/north/gw-01/state', undefined],
    // unknown kind, case matters
    ['muni/v1/north/gw-01/alarms', undefined],
    ['muni/v1/north/gw-01/Telemetry', undefined],
    // wildcards
    ['muni/v1/+/gw-01/telemetry', undefined],
    ['muni/v1/north/+/telemetry', undefined],
    ['muni/v1/north/gw-01/+', undefined],
    ['muni/v1/north/gw-01/#', undefined],
    ['muni/v1/#', undefined],
    ['muni/v1/no+rth/gw-01/telemetry', undefined],
    ['muni/v1/north/gw#1/telemetry', undefined],
    // empty levels
    ['muni/v1//gw-01/telemetry', undefined],
    ['muni/v1/north//telemetry', undefined],
    ['muni/v1/north/gw-01/command//response', undefined],
    ['', undefined],
    ['/', undefined],
    // broker topics, bad ids
    ['$SYS/broker/clients/connected', undefined],
    ['$SYS/v1/north/gw-01/telemetry', undefined],
    ['muni/v1/$north/gw-01/telemetry', undefined],
    ['muni/v1/north/-gw/telemetry', undefined],
    ['muni/v1/north/gw 01/telemetry', undefined],
    [`muni/v1/${'a'.repeat(65)}/gw-01/telemetry`, undefined],
    ['muni/v1/north/gw-01/telemetry\u0000', undefined],
  ])('%j', (topic, expected) => {
    expect(parseTopic(topic)).toEqual(expected)
  })

  it('never throws on non-strings', () => {
    expect(parseTopic(undefined as never)).toBeUndefined()
    expect(parseTopic(42 as never)).toBeUndefined()
  })
})
