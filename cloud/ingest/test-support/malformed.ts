/**
 * A corpus of malformed telemetry messages, each with the dead-letter reason ingest must
 * give it: bad JSON, wrong types, huge payloads, unknown devices, far-future timestamps,
 * NaN/Infinity, deep and wildcard topics, payloads that lie about their gateway, bad
 * UTF-8. Used by the ingest unit test and the end-to-end test through the broker.
 *
 * Every case is built against one known gateway (`SITE`/`GATEWAY`, devices `DEVICES`)
 * whose birth the test publishes first, so "unknown" means unknown to that birth.
 */
import type { Birth } from '../../../shared/mqtt/messages.ts'

export const SITE = 'mal-site'
export const GATEWAY = 'gw-mal'
export const DEVICES = ['wl-1', 'pp-1'] as const

export const BIRTH: Birth = {
  gateway: GATEWAY,
  site: SITE,
  session: 1,
  ts: 1_700_000_000_000,
  agent: { name: 'test', version: '0' },
  devices: [
    { device: 'wl-1', profile: 'hydrolux-rl80@2.3', firmware: '2.3', kind: 'water-level', bus: 'rs485-1', unit: 1 },
    { device: 'pp-1', profile: 'presstek-ptx40@5.2', firmware: '5.2', kind: 'pipe-pressure', bus: 'rs485-1', unit: 2 },
  ],
}

export interface MalformedCase {
  name: string
  topic: string
  payload: Buffer
  /** The dead-letter reason ingest must record. */
  reason: 'topic' | 'invalid' | 'unknown_gateway' | 'unknown_device' | 'future_timestamp'
  /** Whether an MQTT broker lets a client publish it at all (wildcards and empty topics it refuses). */
  publishable: boolean
}

const TOPIC = `muni/v1/${SITE}/${GATEWAY}/telemetry`

/** A valid batch to break; `seq` distinct per case so dedupe never hides one. */
function batch(seq: number, now: number, patch: (b: Record<string, unknown>, r: Record<string, unknown>) => void = () => undefined): Record<string, unknown> {
  const reading: Record<string, unknown> = { device: 'wl-1', ts: now, values: { level_m: 1.25 }, errors: {}, historical: false }
  const b: Record<string, unknown> = { gateway: GATEWAY, seq, sentAt: now, readings: [reading] }
  patch(b, reading)
  return b
}

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v))

/** At least 200 cases; `now` is the cloud's clock at the time of the test. */
export function malformedCorpus(now: number): MalformedCase[] {
  const out: MalformedCase[] = []
  let seq = 1_000_000
  const add = (name: string, payload: Buffer, reason: MalformedCase['reason'], topic = TOPIC, publishable = true): void => {
    out.push({ name, topic, payload, reason, publishable })
  }
  const valid = JSON.stringify(batch(seq++, now))

  // Bad JSON: every proper prefix of a valid message that is not itself valid JSON (40 cuts).
  for (let i = 1; i <= 40; i++) add(`bad JSON: cut at ${i}/40`, Buffer.from(valid.slice(0, Math.floor((valid.length * i) / 41))), 'invalid')
  for (const [name, text] of [
    ['trailing comma', valid.replace(/}$/, ',}')],
    ['single quotes', valid.replace(/"/g, "'")],
    ['comment', `// hi\n${valid}`],
    ['two documents', `${valid}${valid}`],
    ['bare word', 'telemetry'],
    ['literal NaN', valid.replace('1.25', 'NaN')],
    ['literal Infinity', valid.replace('1.25', 'Infinity')],
    ['-Infinity', valid.replace('1.25', '-Infinity')],
    ['hex number', valid.replace('1.25', '0x10')],
    ['leading zero', valid.replace('1.25', '01.25')],
  ] as const) add(`bad JSON: ${name}`, Buffer.from(text), 'invalid')

  // Not UTF-8, empty, not an object.
  add('invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'invalid')
  add('lone surrogate bytes', Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), 'invalid')
  add('empty payload', Buffer.alloc(0), 'invalid')
  for (const v of [null, true, 1, 'x', [], [batch(seq++, now)]]) add(`not an object: ${JSON.stringify(v).slice(0, 20)}`, json(v), 'invalid')

  // Wrong types and values, field by field.
  const wrong: Array<[string, (b: Record<string, unknown>, r: Record<string, unknown>) => void]> = [
    ['gateway number', (b) => (b.gateway = 7)],
    ['gateway other than topic', (b) => (b.gateway = 'gw-other')],
    ['gateway with slash', (b) => (b.gateway = 'a/b')],
    ['seq string', (b) => (b.seq = '12')],
    ['seq negative', (b) => (b.seq = -1)],
    ['seq fraction', (b) => (b.seq = 1.5)],
    ['seq over 2^53', (b) => (b.seq = 2 ** 60)],
    ['seq missing', (b) => delete b.seq],
    ['sentAt string', (b) => (b.sentAt = '2024-01-01')],
    ['sentAt negative', (b) => (b.sentAt = -5)],
    ['readings object', (b) => (b.readings = {})],
    ['readings empty', (b) => (b.readings = [])],
    ['readings of numbers', (b) => (b.readings = [1, 2])],
    ['extra top-level field', (b) => (b.extra = 1)],
    ['device missing', (_, r) => delete r.device],
    ['device empty', (_, r) => (r.device = '')],
    ['device wildcard', (_, r) => (r.device = 'wl+1')],
    ['device 65 chars', (_, r) => (r.device = `d${'x'.repeat(64)}`)],
    ['ts string', (_, r) => (r.ts = String(now))],
    ['ts fraction', (_, r) => (r.ts = now + 0.5)],
    ['ts negative', (_, r) => (r.ts = -1)],
    ['ts beyond Date', (_, r) => (r.ts = 8.64e15 + 1)],
    ['values array', (_, r) => (r.values = [1.25])],
    ['values null', (_, r) => (r.values = null)],
    ['value object', (_, r) => (r.values = { level_m: { v: 1 } })],
    ['value null', (_, r) => (r.values = { level_m: null })],
    ['value array', (_, r) => (r.values = { level_m: [1] })],
    ['value 300-char string', (_, r) => (r.values = { level_m: 'x'.repeat(300) })],
    ['point name upper case', (_, r) => (r.values = { Level: 1 })],
    ['point name with dot', (_, r) => (r.values = { 'level.m': 1 })],
    ['point name empty', (_, r) => (r.values = { '': 1 })],
    ['point in values and errors', (_, r) => (r.errors = { level_m: { code: 'timeout' } })],
    ['error code unknown', (_, r) => (r.errors = { battery_v: { code: 'boom' } })],
    ['error not object', (_, r) => (r.errors = { battery_v: 'timeout' })],
    ['error exception 0', (_, r) => (r.errors = { battery_v: { code: 'exception', exception: 0 } })],
    ['error extra field', (_, r) => (r.errors = { battery_v: { code: 'timeout', why: 'x' } })],
    ['historical string', (_, r) => (r.historical = 'false')],
    ['historical missing', (_, r) => delete r.historical],
    ['reading extra field', (_, r) => (r.quality = 'good')],
    ['errors missing', (_, r) => delete r.errors],
  ]
  for (const [name, patch] of wrong) add(`wrong: ${name}`, json(batch(seq++, now, patch)), 'invalid')

  // Huge: over the byte limit, too many readings, too many points.
  add('huge: over 256 KiB', json(batch(seq++, now, (b) => (b.readings = Array.from({ length: 1000 }, (_, i) => ({ device: 'wl-1', ts: now - i, values: { note: 'x'.repeat(250) }, errors: {}, historical: true }))))), 'invalid')
  add('huge: 1,001 readings', json(batch(seq++, now, (b) => (b.readings = Array.from({ length: 1001 }, (_, i) => ({ device: 'wl-1', ts: now - i, values: {}, errors: {}, historical: true }))))), 'invalid')
  add('huge: 300 points', json(batch(seq++, now, (_, r) => (r.values = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`p${i}`, i]))))), 'invalid')
  add('huge: 2 MiB of spaces', Buffer.concat([Buffer.from(valid), Buffer.alloc(2 * 1024 * 1024, 0x20)]), 'invalid')
  for (let depth = 50; depth <= 500; depth += 50) add(`deep JSON nesting ${depth}`, Buffer.from(`{"gateway":"${GATEWAY}","seq":1,"sentAt":1,"readings":${'['.repeat(depth)}${']'.repeat(depth)}}`), 'invalid')

  // NaN by other spellings JSON allows: overflow to Infinity.
  for (const lit of ['1e999', '-1e999', '1e400', '9'.repeat(400)]) add(`number ${lit.slice(0, 10)}… overflows`, Buffer.from(valid.replace('1.25', lit)), 'invalid')

  // Unknown devices (known gateway) and unknown gateways.
  for (let i = 0; i < 25; i++) add(`unknown device ${i}`, json(batch(seq++, now, (_, r) => (r.device = `ghost-${i}`))), 'unknown_device')
  for (let i = 0; i < 15; i++) {
    const gw = `gw-ghost-${i}`
    add(`unknown gateway ${i}`, json(batch(seq++, now, (b) => (b.gateway = gw))), 'unknown_gateway', `muni/v1/${SITE}/${gw}/telemetry`)
  }

  // Far-future sample times.
  for (const ahead of [11 * 60_000, 3_600_000, 86_400_000, 365 * 86_400_000, 10 * 365 * 86_400_000]) {
    add(`ts ${ahead / 60_000} min ahead`, json(batch(seq++, now, (_, r) => (r.ts = now + ahead))), 'future_timestamp')
    add(`one of two readings ${ahead / 60_000} min ahead`, json(batch(seq++, now, (b, r) => (b.readings = [r, { ...r, device: 'pp-1', ts: now + ahead }]))), 'future_timestamp')
  }

  // Topics: deep, wrong root/version/kind, bad ids, wildcards (a broker refuses those).
  const body = json(batch(seq++, now))
  for (let extra = 1; extra <= 10; extra++) add(`deep topic +${extra * 10} levels`, body, 'topic', `${TOPIC}${'/x'.repeat(extra * 10)}`)
  for (const t of [
    'muni/v2/mal-site/gw-mal/telemetry',
    'muni/v1/mal-site/gw-mal/telemetria',
    'muni/v1/mal-site/gw-mal',
    'other/v1/mal-site/gw-mal/telemetry',
    'muni/v1//gw-mal/telemetry',
    'muni/v1/mal site/gw-mal/telemetry',
    'muni/v1/mal-site/-gw/telemetry',
    `muni/v1/${'s'.repeat(70)}/gw-mal/telemetry`,
    '$SYS/muni/v1/mal-site/gw-mal/telemetry',
    'muni/v1/mal-site/gw-mal/command/response/extra',
  ]) add(`topic ${t.slice(0, 40)}`, body, 'topic', t)
  for (const t of ['muni/v1/+/gw-mal/telemetry', 'muni/v1/mal-site/#', 'muni/v1/mal-site/+/telemetry', '#', '+']) add(`wildcard publish ${t}`, body, 'topic', t, false)

  // Other kinds, malformed.
  const base = `muni/v1/${SITE}/${GATEWAY}`
  for (const [kind, v] of [
    ['birth', { gateway: GATEWAY }],
    ['birth', { ...BIRTH, site: 'other-site' }],
    ['birth', { ...BIRTH, devices: [{ device: 'x' }] }],
    ['state', { state: 'sleeping', session: 1 }],
    ['state', { state: 'online' }],
    ['events', { device: 'wl-1', ts: now, event: 'exploded' }],
    ['events', { device: 'wl-1', ts: now, event: 'profile_mismatch' }],
    ['command/response', { id: 'x', ts: now, ok: 'yes' }],
    ['command/response', { id: 'x', ts: now, ok: false }],
    ['events', { device: 'wl-1', ts: 'now', event: 'available' }],
    ['events', { device: 'wl-1', ts: now, event: 'available', error: { code: 'timeout' } }],
    ['state', { state: 'online', session: -1 }],
  ] as const) add(`${kind}: ${JSON.stringify(v).slice(0, 40)}`, json(v), 'invalid', `${base}/${kind}`)
  add('events: unknown device', json({ device: 'ghost', ts: now, event: 'available' }), 'unknown_device', `${base}/events`)

  return out
}
