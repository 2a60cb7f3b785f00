/**
 * Webhook delivery against real components: an `AlarmEngine` on a temp state database as
 * the source (alarms raised by real readings and operator actions) and a real node:http
 * receiver that checks every signature with `verifySignature`.
 */
import { createServer } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { SensorKind } from '../../shared/profile/schema.ts'
import type { PointValue } from '../../shared/mqtt/messages.ts'
import { openStateDb, type StateDb } from '../state/db.ts'
import { AlarmEngine } from './engine.ts'
import type { Rule } from './rules.ts'
import type { StoredTransition } from './store.ts'
import { COVER, reading, ruleSet, T0 } from './test-support/fixtures.ts'
import { startReceiver, type Receiver, type Reply } from './test-support/webhook-receiver.ts'
import { backoffDelay, outcomeOf, parseRetryAfter, validateTargets } from './webhook-policy.ts'
import { sign, verifySignature } from './webhook-signature.ts'
import { WebhookDelivery, type WebhookAttempt, type WebhookDeliveryOptions, type WebhookTarget } from './webhooks.ts'

const SECRET = 'whsec-test-0123456789abcdef'
const LEVEL: Rule = { id: 'level_m.threshold', kind: 'threshold', point: 'level_m', unit: 'm', levels: { hi: { value: 0.5 }, hihi: { value: 1.0 } }, deadband: 0.05 }
const RULES = ruleSet({ 'water-level': [LEVEL], 'manhole-cover': [COVER] })
const FAST = { initialMs: 20, maxMs: 1000, factor: 2 }

let dir: string
let clock = T0
const dbs: StateDb[] = []
const deliveries: WebhookDelivery[] = []
const receivers: Receiver[] = []

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'muni-webhooks-'))
  clock = T0
})
afterEach(async () => {
  for (const d of deliveries.splice(0)) await d.stop()
  for (const r of receivers.splice(0)) await r.close()
  for (const db of dbs.splice(0)) if (db.open) db.close()
  rmSync(dir, { recursive: true, force: true })
})

async function receiver(respond?: Parameters<typeof startReceiver>[1]): Promise<Receiver> {
  const r = await startReceiver(SECRET, respond)
  receivers.push(r)
  return r
}

function target(r: Receiver, name: string, extra: Partial<WebhookTarget> = {}): WebhookTarget {
  return { name, url: `${r.url}/${name}`, secret: SECRET, ...extra }
}

/** An engine on the test's database whose `onTransition` wakes the delivery, and the delivery, started. */
function setup(targets: WebhookTarget[], opts: Partial<WebhookDeliveryOptions> = {}, db = openDb()): { engine: AlarmEngine; delivery: WebhookDelivery; db: StateDb; attempts: WebhookAttempt[] } {
  const attempts: WebhookAttempt[] = []
  let delivery: WebhookDelivery | undefined
  const engine = new AlarmEngine({ db, rules: RULES, now: () => clock, onTransition: (t) => delivery?.notify(t.id) })
  engine.start()
  delivery = new WebhookDelivery({ db, source: engine, targets, backoff: FAST, pollMs: 50, onAttempt: (a) => attempts.push(a), ...opts })
  deliveries.push(delivery)
  delivery.start()
  return { engine, delivery, db, attempts }
}

function openDb(): StateDb {
  const db = openStateDb(join(dir, 'state.db'))
  dbs.push(db)
  return db
}

function feed(engine: AlarmEngine, gateway: string, device: string, kind: SensorKind, values: Record<string, PointValue>, site?: string): void {
  clock += 60_000
  const r = reading(gateway, device, kind, clock, values)
  engine.onReadings([site ? { ...r, site } : r])
}
const cover = (e: AlarmEngine, device: string, open: boolean): void => feed(e, 'gw-a', device, 'manhole-cover', { cover_open: open })
const level = (e: AlarmEngine, device: string, v: number, site?: string): void => feed(e, 'gw-a', device, 'water-level', { level_m: v }, site)

const log = (e: AlarmEngine): StoredTransition[] => e.transitions(0, 100_000)
const announced = (e: AlarmEngine): number[] => log(e).filter((t) => t.announce).map((t) => t.id)
const idle = (d: WebhookDelivery): boolean => d.stats().every((s) => s.lag === 0 && !s.retrying)

describe('delivery', () => {
  it('sends every announced transition in log order, signed, with its event id; unannounced ones are never sent', async () => {
    const rx = await receiver()
    const { engine, delivery } = setup([target(rx, 'ops')])
    engine.setMaintenance({ gateway: 'gw-a', device: 'mh-02' }, true)
    cover(engine, 'mh-01', true)
    cover(engine, 'mh-02', true) // suppressed: maintenance
    level(engine, 'wl-01', 0.7) // raise MAJOR
    level(engine, 'wl-01', 1.2) // escalate CRITICAL
    expect(engine.ack('gw-a/wl-01/level_m.threshold', 'op.li', 'crew sent').ok).toBe(true)
    cover(engine, 'mh-01', false)
    cover(engine, 'mh-02', false) // closes silently
    const all = log(engine)
    const quiet = all.filter((t) => !t.announce).map((t) => t.id)
    expect(quiet).toHaveLength(2)

    await rx.until(() => rx.delivered().length >= announced(engine).length)
    await rx.until(() => idle(delivery))
    expect(rx.requests.map((r) => r.eventId)).toEqual(announced(engine))
    for (const r of rx.requests) {
      expect(r.valid).toBe(true)
      expect(r.headers['content-type']).toBe('application/json')
      expect(r.payload.id).toBe(r.eventId)
      expect(quiet).not.toContain(r.eventId)
    }
    const brief = rx.requests.map((r) => `${r.payload.type} ${r.payload.key.split('/')[1]} ${r.payload.from ?? '-'}→${r.payload.to} ${r.payload.alarm?.severity}`)
    expect(brief).toEqual([
      'raise mh-01 -→ACTIVE_UNACK CRITICAL',
      'raise wl-01 -→ACTIVE_UNACK MAJOR',
      'escalate wl-01 ACTIVE_UNACK→ACTIVE_UNACK CRITICAL',
      'ack wl-01 ACTIVE_UNACK→ACTIVE_ACK CRITICAL',
      'clear mh-01 ACTIVE_UNACK→CLEARED_UNACK CRITICAL',
    ])
    // Self-contained: the transition's own fields, and the alarm as of the transition (all
    // five were logged before the first request went out, yet the raise shows the alarm as raised).
    const ack = rx.requests[3]?.payload
    expect(ack).toMatchObject({ type: 'ack', actor: 'op.li', alarmId: 'gw-a/wl-01/level_m.threshold#1', action: { comment: 'crew sent' }, alarm: { status: 'ACTIVE_ACK', ackedBy: 'op.li' } })
    expect(rx.requests[1]?.payload.alarm).toMatchObject({ status: 'ACTIVE_UNACK', severity: 'MAJOR', value: 0.7 })
    expect(delivery.stats()).toEqual([{ target: 'ops', delivered: 5, failed: 0, retrying: false, attempts: 0, cursor: all.at(-1)?.id, lag: 0 }])
  })

  it('filters: minSeverity (by the highest severity the alarm reached), sites, events', async () => {
    const rx = await receiver()
    const { engine, delivery } = setup([target(rx, 'all'), target(rx, 'crit', { minSeverity: 'critical' }), target(rx, 'west', { sites: ['xicheng'] }), target(rx, 'raises', { events: ['raise'] })])
    cover(engine, 'mh-01', true) // CRITICAL, dongcheng
    level(engine, 'wl-01', 0.7) // MAJOR …
    level(engine, 'wl-01', 1.2) // … CRITICAL
    level(engine, 'wl-01', 0.7) // … MAJOR again
    level(engine, 'wl-01', 0.2) // clear
    level(engine, 'wl-x', 0.7, 'xicheng') // MAJOR, xicheng
    await rx.until(() => rx.delivered('/all').length === announced(engine).length && idle(delivery))
    const all = log(engine)
    const ids = (f: (t: StoredTransition) => boolean): number[] => all.filter((t) => t.announce && f(t)).map((t) => t.id)
    const wl = all.filter((t) => t.key === 'gw-a/wl-01/level_m.threshold')
    expect(wl.map((t) => t.action.type)).toEqual(['raise', 'escalate', 'escalate', 'clear'])
    const critFrom = (wl[1] as StoredTransition).id
    expect(rx.delivered('/all')).toEqual(announced(engine))
    expect(rx.delivered('/crit')).toEqual(ids((t) => t.key.includes('/mh-01/') || (t.key.includes('/wl-01/') && t.id >= critFrom)))
    expect(rx.delivered('/west')).toEqual(ids((t) => t.key.includes('/wl-x/')))
    expect(rx.delivered('/raises')).toEqual(ids((t) => t.action.type === 'raise'))
    expect(rx.delivered('/raises')).toHaveLength(3)
  })

  it('a target configured after transitions were logged starts at the log end; startFrom: beginning replays; an existing cursor is kept', async () => {
    const rx = await receiver()
    const db = openDb()
    const first = setup([], {}, db)
    cover(first.engine, 'mh-01', true)
    cover(first.engine, 'mh-02', true)
    await first.delivery.stop()
    const late = new WebhookDelivery({ db, source: first.engine, targets: [target(rx, 'late')], pollMs: 50 })
    const replay = new WebhookDelivery({ db, source: first.engine, targets: [target(rx, 'late'), target(rx, 'replay')], pollMs: 50, startFrom: 'beginning' })
    deliveries.push(late, replay)
    late.start()
    expect(late.stats()[0]).toMatchObject({ cursor: 2, lag: 0 })
    await late.stop()
    replay.start()
    await rx.until(() => rx.delivered('/replay').length === 2)
    cover(first.engine, 'mh-03', true)
    replay.notify(3)
    await rx.until(() => rx.delivered('/replay').length === 3 && rx.delivered('/late').length === 1)
    expect(rx.delivered('/late')).toEqual([3])
    expect(rx.delivered('/replay')).toEqual([1, 2, 3])
  })

  it('finds the end of a long log in a few one-row reads (where a new target starts)', async () => {
    const db = openDb()
    for (const n of [0, 1, 2, 1023, 1024, 1025, 70_001]) {
      // Even ids only: the probe must not assume the ids are dense.
      let reads = 0
      const transitions = (after: number): StoredTransition[] => {
        reads++
        return after < 2 * n ? [{ id: Math.floor(after / 2) * 2 + 2 } as StoredTransition] : []
      }
      const d = new WebhookDelivery({ db, source: { transitions }, targets: [{ name: `n${n}`, url: 'http://127.0.0.1:9/', secret: SECRET }], pollMs: 60_000 })
      d.start()
      expect([n, d.stats()[0]?.cursor]).toEqual([n, 2 * n])
      expect(reads).toBeLessThan(50)
      await d.stop()
    }
  })
})

describe('retries', () => {
  it('500 for the first three attempts: retried with growing delays, then delivered once, in order', async () => {
    const rx = await receiver((_r, n) => ({ status: n < 3 ? 500 : 200, body: n < 3 ? 'database is down' : '' }))
    const { engine, delivery, attempts, db } = setup([target(rx, 'ops')], { random: () => 1 })
    cover(engine, 'mh-01', true)
    cover(engine, 'mh-02', true)
    cover(engine, 'mh-03', true)
    await rx.until(() => rx.delivered().length === 3 && idle(delivery))
    expect(rx.delivered()).toEqual(announced(engine))
    const first = attempts.filter((a) => a.transitionId === 1)
    expect(first.map((a) => `${a.attempt} ${a.outcome} ${a.status}`)).toEqual(['1 retry 500', '2 retry 500', '3 retry 500', '4 delivered 200'])
    expect(first.map((a) => a.delayMs).slice(0, 3)).toEqual([20, 40, 80])
    expect(first[0]?.error).toBe('HTTP 500: database is down')
    expect(rx.requests.filter((r) => r.eventId === 1)).toHaveLength(4)
    expect(rx.requests.every((r) => r.valid)).toBe(true)
    expect(db.prepare('SELECT last_id, attempts, pending_id, last_error FROM webhook_cursors').get()).toEqual({ last_id: 3, attempts: 0, pending_id: null, last_error: null })
  })

  it('429 with Retry-After: not retried before it says, whatever notify() does; then delivered', async () => {
    let now = Date.now()
    const rx = await receiver((_r, n) => (n === 0 ? { status: 429, headers: { 'retry-after': '120' } } : { status: 200 }))
    const { engine, delivery, attempts, db } = setup([target(rx, 'ops')], { now: () => now })
    cover(engine, 'mh-01', true)
    await rx.until(() => attempts.length === 1)
    expect(attempts[0]).toMatchObject({ outcome: 'retry', status: 429, delayMs: 120_000 })
    expect(db.prepare('SELECT attempts, next_at FROM webhook_cursors').get()).toEqual({ attempts: 1, next_at: now + 120_000 })
    for (let i = 0; i < 5; i++) {
      delivery.notify()
      await new Promise((r) => setTimeout(r, 30))
    }
    expect(rx.arrived).toHaveLength(1)
    now += 119_000
    delivery.notify()
    await new Promise((r) => setTimeout(r, 100))
    expect(rx.arrived).toHaveLength(1)
    now += 1000
    delivery.notify()
    await rx.until(() => rx.delivered().length === 1)
    expect(rx.delivered()).toEqual([1])
  })

  it('400: the event is recorded as a failed delivery and the next one is delivered', async () => {
    const rx = await receiver((r) => (r.eventId === 1 ? { status: 400, body: 'unknown field "alarm"' } : { status: 200 }))
    const logs: string[] = []
    const { engine, delivery } = setup([target(rx, 'ops')], { log: (l) => logs.push(l) })
    cover(engine, 'mh-01', true)
    cover(engine, 'mh-02', true)
    await rx.until(() => rx.delivered().length === 1 && idle(delivery))
    expect(rx.delivered()).toEqual([2])
    expect(delivery.failures()).toEqual([
      { id: 1, target: 'ops', transitionId: 1, alarmId: 'gw-a/mh-01/cover_open.state#1', status: 400, reason: 'HTTP 400: unknown field "alarm"', attempts: 1, at: expect.any(Number) },
    ])
    expect(delivery.stats()[0]).toMatchObject({ delivered: 1, failed: 1, lag: 0 })
    expect(logs.some((l) => l.includes('FAILED to deliver transition 1'))).toBe(true)
  })

  it('maxAttempts: after that many retryable failures the event is recorded as failed and the target moves on', async () => {
    const rx = await receiver((r) => ({ status: r.eventId === 1 ? 503 : 200 }))
    const { engine, delivery } = setup([target(rx, 'ops')], { maxAttempts: 3 })
    cover(engine, 'mh-01', true)
    cover(engine, 'mh-02', true)
    await rx.until(() => rx.delivered().length === 1 && idle(delivery))
    expect(rx.requests.map((r) => `${r.eventId} ${r.status}`)).toEqual(['1 503', '1 503', '1 503', '2 200'])
    expect(delivery.failures()[0]).toMatchObject({ transitionId: 1, status: 503, attempts: 3, reason: 'HTTP 503; gave up after 3 attempt(s)' })
  })

  it('no answer within timeoutMs is retried like a 5xx', async () => {
    const rx = await receiver((_r, n) => (n === 0 ? new Promise<Reply>((resolve) => setTimeout(() => resolve({ status: 200 }), 500)) : { status: 200 }))
    const { engine, delivery, attempts } = setup([target(rx, 'ops')], { timeoutMs: 100 })
    cover(engine, 'mh-01', true)
    await rx.until(() => attempts.some((a) => a.outcome === 'delivered') && idle(delivery))
    expect(attempts[0]).toMatchObject({ outcome: 'retry', error: 'no answer within 100 ms' })
    expect(attempts[0]?.status).toBeUndefined()
  })

  it('a restart continues the backoff from the database instead of hammering the receiver', async () => {
    let now = Date.now()
    const rx = await receiver((_r, n) => ({ status: n < 2 ? 503 : 200 }))
    const db = openDb()
    const first = setup([target(rx, 'ops')], { now: () => now, random: () => 1 }, db)
    cover(first.engine, 'mh-01', true)
    await rx.until(() => first.attempts.length === 1)
    await first.delivery.stop()
    const second = setup([target(rx, 'ops')], { now: () => now, random: () => 1 }, db)
    expect(second.delivery.stats()[0]).toMatchObject({ retrying: true, attempts: 1, lag: 1 })
    second.delivery.notify()
    await new Promise((r) => setTimeout(r, 100))
    expect(rx.arrived).toHaveLength(1)
    now += 20
    second.delivery.notify()
    await rx.until(() => second.attempts.length === 1)
    expect(second.attempts[0]).toMatchObject({ attempt: 2, outcome: 'retry', delayMs: 40 })
    now += 40
    second.delivery.notify()
    await rx.until(() => rx.delivered().length === 1)
    expect(second.attempts.map((a) => `${a.attempt} ${a.outcome}`)).toEqual(['2 retry', '3 delivered'])
  })
})

describe('targets are independent', () => {
  it('a target stuck on a slow receiver does not delay another; each has one request in flight', async () => {
    const release: Array<() => void> = []
    const slow = await receiver(() => new Promise<Reply>((resolve) => release.push(() => resolve({ status: 200 }))))
    const fast = await receiver()
    const { engine } = setup([target(slow, 'slow'), target(fast, 'fast')], { timeoutMs: 10_000 })
    for (const d of ['mh-01', 'mh-02', 'mh-03', 'mh-04', 'mh-05']) cover(engine, d, true)
    await fast.until(() => fast.delivered().length === 5)
    expect(fast.delivered()).toEqual([1, 2, 3, 4, 5])
    expect(slow.arrived.map((r) => r.eventId)).toEqual([1])
    // Released one at a time: still one in flight, in order.
    await slow.until(() => {
      release.splice(0).forEach((f) => f())
      return slow.delivered().length === 5
    })
    expect(slow.delivered()).toEqual([1, 2, 3, 4, 5])
  })
})

describe('secrets', () => {
  it('never appear in logs: URL user info becomes a Basic header, the query is redacted, the secret is not printed', async () => {
    const rx = await receiver((_r, n) => ({ status: n === 0 ? 500 : 200 }))
    // A closed port: a network error, whose message could quote the URL.
    const dead = createServer()
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r))
    const port = (dead.address() as AddressInfo).port
    await new Promise<void>((r) => dead.close(() => r()))
    const logs: string[] = []
    const u = new URL(rx.url)
    const { engine } = setup(
      [
        { name: 'ops', url: `http://svc:pw-SECRET@${u.host}/hook?token=TOKEN-SECRET`, secret: SECRET },
        { name: 'dead', url: `http://127.0.0.1:${port}/hook?token=TOKEN-SECRET`, secret: SECRET },
      ],
      { log: (l) => logs.push(l) },
    )
    cover(engine, 'mh-01', true)
    await rx.until(() => rx.delivered().length === 1 && logs.filter((l) => l.includes('webhook dead')).length >= 3)
    expect(rx.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('svc:pw-SECRET').toString('base64')}`)
    expect(rx.requests[0]?.path).toBe('/hook?token=TOKEN-SECRET')
    const text = logs.join('\n')
    expect(text).toContain(`webhook ops (http://${u.host}/hook?[redacted])`)
    expect(text).toMatch(/webhook dead .*: transition 1 attempt 1 failed \(fetch failed: .*ECONNREFUSED/)
    for (const s of ['pw-SECRET', 'TOKEN-SECRET', SECRET, 'svc:']) expect(text).not.toContain(s)
  })
})

describe('verifySignature', () => {
  const body = JSON.stringify({ id: 7, type: 'raise' })
  const now = 1_720_000_000
  const header = sign(SECRET, now, body)

  it.each([
    ['the signed body', SECRET, header, now, body, true],
    ['a tampered body', SECRET, header, now, body.replace('7', '8'), false],
    ['a wrong secret', 'not-the-secret-at-all', header, now, body, false],
    ['an old timestamp (replay)', SECRET, sign(SECRET, now - 301, body), now - 301, body, false],
    ['a timestamp far ahead', SECRET, sign(SECRET, now + 301, body), now + 301, body, false],
    ['a timestamp not the one signed', SECRET, header, now - 1, body, false],
    ['a rotated secret: either of two signatures', SECRET, `${sign('old-secret-0123456789', now, body)},${header}`, now, body, true],
    ['a malformed header', SECRET, 'sha256=abc', now, body, false],
    ['no header', SECRET, undefined, now, body, false],
  ] as const)('%s', (_name, secret, h, ts, b, ok) => {
    expect(verifySignature(secret, h, String(ts), b, 300, now)).toBe(ok)
  })

  it('matches the documented recipe: hex HMAC-SHA256 of "timestamp.body"', async () => {
    const { createHmac } = await import('node:crypto')
    expect(header).toBe(`sha256=${createHmac('sha256', SECRET).update(`${now}.${body}`).digest('hex')}`)
  })
})

describe('policy', () => {
  it('outcomes: 2xx delivered; 408, 429, 5xx and no answer retried; other 3xx/4xx given up', () => {
    const table: Array<[number | undefined, string]> = [
      [200, 'delivered'], [204, 'delivered'], [undefined, 'retry'], [408, 'retry'], [429, 'retry'], [500, 'retry'], [503, 'retry'],
      [301, 'give-up'], [400, 'give-up'], [401, 'give-up'], [404, 'give-up'], [410, 'give-up'], [422, 'give-up'],
    ]
    for (const [status, outcome] of table) expect([status, outcomeOf(status)]).toEqual([status, outcome])
  })

  it('backoff: exponential with equal jitter, capped, never shrinking with factor 2', () => {
    const b = { initialMs: 1000, maxMs: 300_000, factor: 2 }
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, b, 1))).toEqual([1000, 2000, 4000, 8000])
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, b, 0))).toEqual([500, 1000, 2000, 4000])
    expect(backoffDelay(30, b, 1)).toBe(300_000)
    expect(backoffDelay(30, b, 0)).toBe(300_000)
    expect(backoffDelay(9, b, 0)).toBe(128_000)
    for (let n = 1; n < 40; n++) expect(backoffDelay(n + 1, b, 0)).toBeGreaterThanOrEqual(backoffDelay(n, b, 1))
  })

  it('Retry-After: seconds or an HTTP date, at most an hour', () => {
    const now = Date.UTC(2024, 6, 8, 12, 0, 0)
    expect(parseRetryAfter('120', now)).toBe(120_000)
    expect(parseRetryAfter('Mon, 08 Jul 2024 12:00:30 GMT', now)).toBe(30_000)
    expect(parseRetryAfter('Mon, 08 Jul 2024 11:00:00 GMT', now)).toBe(0)
    expect(parseRetryAfter('86400', now)).toBe(3_600_000)
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter(null, now)).toBeUndefined()
  })

  it('validateTargets names each problem', () => {
    expect(validateTargets([{ name: 'ops', url: 'https://ops.example/hook', secret: SECRET, minSeverity: 'major', events: ['raise', 'clear'] }])).toEqual([])
    expect(
      validateTargets([
        { name: 'ops', url: 'ftp://x/', secret: 'short' },
        { name: 'ops', url: 'not a url', secret: SECRET, minSeverity: 'severe' as 'major', events: ['open' as 'raise'] },
      ]),
    ).toEqual([
      'webhooks[0].url: must be http or https, got ftp:',
      'webhooks[0].secret: must be at least 16 characters (use 32 random bytes)',
      'webhooks[1].name: duplicate webhook name ops',
      'webhooks[1].url: not a URL',
      'webhooks[1].minSeverity: unknown severity severe',
      'webhooks[1].events: unknown transition type open',
    ])
  })
})
