import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openStateDb, type StateDb } from '../state/db.ts'
import { AlarmEngine, UNAVAILABLE_RULE, type AlarmEngineOptions } from './engine.ts'
import { parentKey } from './flood.ts'
import { isOpen, type Alarm } from './lifecycle.ts'
import { AlarmStore, type StoredTransition } from './store.ts'
import { LEVEL_TREND, MIN, RULES, reading, ruleSet, SITE, storm, T0 } from './test-support/fixtures.ts'

let dir: string
let path: string
const dbs: StateDb[] = []
let clock = T0

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'muni-alarms-'))
  path = join(dir, 'state.db')
  clock = T0
})
afterEach(() => {
  for (const db of dbs.splice(0)) if (db.open) db.close()
  rmSync(dir, { recursive: true, force: true })
})

/** A started engine on the test's database file, with every emitted transition collected. */
function open(opts: Partial<AlarmEngineOptions> = {}): { engine: AlarmEngine; db: StateDb; emitted: StoredTransition[] } {
  const db = openStateDb(path)
  dbs.push(db)
  const emitted: StoredTransition[] = []
  const engine = new AlarmEngine({ db, rules: RULES, now: () => clock, onTransition: (t) => emitted.push(t), ...opts })
  engine.start()
  return { engine, db, emitted }
}

/** Feeds readings a minute at a time, the cloud clock following the sample time. */
function feed(engine: AlarmEngine, readings: readonly ReturnType<typeof reading>[]): void {
  for (const r of readings) {
    clock = r.ts
    engine.onReadings([r])
  }
}

const brief = (ts: readonly StoredTransition[]): string[] => ts.map((t) => `${t.action.type} ${t.key.split('/')[2]} ${t.from ?? '-'}→${t.to}`)

describe('a storm through onReadings', () => {
  it('raises the trend alarm before the threshold one, both clear after recession; acks move them on; transitions carry actor and time', () => {
    const { engine, emitted } = open()
    const { readings, crossing } = storm()
    const rising = readings.filter((r) => r.ts < crossing)
    feed(engine, rising)
    const trend = engine.list({ rule: 'level_m.trend' })[0] as Alarm
    expect(trend.status).toBe('ACTIVE_UNACK')
    expect(trend.message).toMatch(/^level_m will reach 0\.50 m in \d+ min/)
    expect(engine.list({ rule: 'level_m.threshold' })).toEqual([])
    // The operator acknowledges the forecast.
    clock += 1000
    const ack = engine.ack(trend.id, 'op.li', 'pumps dispatched')
    expect(ack.ok && ack.alarm.status).toBe('ACTIVE_ACK')
    expect(ack.ok && ack.transition.action).toMatchObject({ type: 'ack', actor: 'op.li', at: clock, comment: 'pumps dispatched' })
    feed(engine, readings.filter((r) => r.ts >= crossing))

    const raises = emitted.filter((t) => t.action.type === 'raise')
    expect(raises.map((t) => t.key.split('/')[2])).toEqual(['level_m.trend', 'level_m.threshold'])
    expect(raises[1]?.action.at).toBe(crossing)
    expect(crossing - (raises[0]?.action.at as number)).toBeGreaterThanOrEqual(10 * MIN)
    for (const t of raises) expect(t).toMatchObject({ to: 'ACTIVE_UNACK', announce: true, action: { actor: 'system' } })
    // Recession: the acknowledged trend alarm closes; the threshold one waits for its ack.
    expect(engine.get(trend.id)?.status).toBe('CLEARED_ACK')
    const road = engine.list({ rule: 'level_m.threshold' })[0] as Alarm
    expect(road.status).toBe('CLEARED_UNACK')
    clock += 1000
    const ack2 = engine.ack(road.key, 'op.wang')
    expect(ack2.ok && ack2.alarm).toMatchObject({ status: 'CLEARED_ACK', ackedBy: 'op.wang', ackedAt: clock })
    expect(engine.list({ state: ['ACTIVE_UNACK', 'ACTIVE_ACK', 'CLEARED_UNACK'] })).toEqual([])
    // Every transition is in the log with actor and time, as emitted.
    expect(engine.history(trend.id).map((t) => t.id)).toEqual(emitted.filter((t) => t.alarmId === trend.id).map((t) => t.id))
    expect(brief(emitted.filter((t) => t.action.type !== 'escalate'))).toEqual([
      'raise level_m.trend -→ACTIVE_UNACK',
      'ack level_m.trend ACTIVE_UNACK→ACTIVE_ACK',
      'raise level_m.threshold -→ACTIVE_UNACK',
      'clear level_m.trend ACTIVE_ACK→CLEARED_ACK',
      'clear level_m.threshold ACTIVE_UNACK→CLEARED_UNACK',
      'ack level_m.threshold CLEARED_UNACK→CLEARED_ACK',
    ])
    // Operator actions on something that is not there are refused, not thrown.
    expect(engine.ack('gw-up/wl-up-01/nope', 'op.li')).toMatchObject({ ok: false, error: 'not_found' })
    expect(engine.ack(road.id, 'op.li')).toMatchObject({ ok: false, error: 'rejected' })
  })
})

describe('restart', () => {
  it.each(['stop()', 'no stop() (crash)'])('mid-alarm, after %s: the same open alarms; the next readings raise no duplicate; the clear closes it', (how) => {
    const { readings, crossing } = storm()
    const first = open()
    const cut = readings.findIndex((r) => r.ts >= crossing + 5 * MIN)
    feed(first.engine, readings.slice(0, cut))
    const before = first.engine.list({ state: 'ACTIVE_UNACK' })
    expect(before.map((a) => a.rule).sort()).toEqual(['level_m.threshold', 'level_m.trend'])
    if (how === 'stop()') first.engine.stop()
    first.db.close()

    const second = open()
    expect(second.engine.list({ state: 'ACTIVE_UNACK' })).toEqual(before)
    feed(second.engine, readings.slice(cut))
    const all = new AlarmStore(second.db).transitions(0, 10_000)
    // One alarm per (device, rule) over the whole storm, raised once, cleared once.
    expect(new Set(all.map((t) => t.alarmId))).toEqual(new Set(['gw-up/wl-up-01/level_m.trend#1', 'gw-up/wl-up-01/level_m.threshold#1']))
    expect(all.filter((t) => t.action.type === 'raise')).toHaveLength(2)
    expect(second.emitted.filter((t) => t.action.type === 'raise')).toEqual([])
    expect(second.emitted.filter((t) => t.action.type === 'clear').map((t) => t.to)).toEqual(['CLEARED_UNACK', 'CLEARED_UNACK'])
    expect(second.engine.list({ state: ['ACTIVE_UNACK', 'ACTIVE_ACK'] })).toEqual([])
  })
  it.each(['stop()', 'no stop() (crash)'])('a condition that ends in the first reading after a restart (%s) still clears: the evaluator state came back with the log', (how) => {
    const first = open()
    feed(first.engine, [reading('gw-gqm', 'mh-01', 'manhole-cover', T0, { cover_open: true })])
    if (how === 'stop()') first.engine.stop()
    first.db.close()
    const second = open()
    feed(second.engine, [reading('gw-gqm', 'mh-01', 'manhole-cover', T0 + MIN, { cover_open: false })])
    expect(second.emitted.map((t) => `${t.action.type} ${t.to}`)).toEqual(['clear CLEARED_UNACK'])
  })
})

describe('kill -9', () => {
  it('every transition the child reported done is in the log after SIGKILL', async () => {
    const script = fileURLToPath(new URL('./test-support/kill-child.ts', import.meta.url))
    const root = fileURLToPath(new URL('../..', import.meta.url))
    const child = spawn(process.execPath, ['--import', 'tsx', script, path], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    const reported: number[] = []
    let batches = 0
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    let buf = ''
    await new Promise<void>((resolve, reject) => {
      child.on('exit', () => resolve())
      child.on('error', reject)
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString()
        const lines = buf.split('\n')
        buf = lines.pop() ?? ''
        for (const l of lines) {
          if (l.startsWith('T ')) reported.push(Number(l.slice(2)))
          else if (l.startsWith('B ')) batches++
        }
        // Mid-stream: once alarms are being raised and cleared, right after a batch returned.
        if (reported.length >= 60 && child.exitCode === null && !child.killed) child.kill('SIGKILL')
      })
    })
    expect(err).toBe('')
    expect(child.signalCode).toBe('SIGKILL')
    expect(batches).toBeGreaterThan(0)
    expect(reported.length).toBeGreaterThanOrEqual(60)
    const { engine, db } = open()
    const logged = new Set(new AlarmStore(db).transitions(0, 1_000_000).map((t) => t.id))
    for (const id of reported) expect(logged.has(id)).toBe(true)
    // The log replays (start() rebuilt it) and never holds two open alarms for one key.
    const open_ = engine.list().filter(isOpen)
    expect(new Set(open_.map((a) => a.key)).size).toBe(open_.length)
  }, 30_000)
})

describe('gateway offline (flood control)', () => {
  const devices = Array.from({ length: 12 }, (_, i) => `mh-${String(i + 1).padStart(2, '0')}`)
  const cover = (device: string, ts: number) => reading('gw-gqm', device, 'manhole-cover', ts, { cover_open: false })

  it('12 devices behind a dead gateway: exactly one announced parent alarm; back online: all clear', () => {
    const { engine, emitted } = open()
    feed(engine, devices.map((d) => cover(d, T0)))
    clock = T0 + 30_000
    engine.onRegistryChange({ type: 'state', site: SITE, gateway: 'gw-gqm', state: 'offline', session: 1 })
    for (let m = 1; m <= 10; m++) engine.tick(T0 + m * MIN)
    const raised = emitted.filter((t) => t.action.type === 'raise')
    expect(raised).toHaveLength(13)
    expect(raised.filter((t) => t.announce).map((t) => t.key)).toEqual([parentKey('gw-gqm')])
    expect(engine.list({ rule: 'stale' }).every((a) => a.parent === parentKey('gw-gqm') && a.status === 'ACTIVE_UNACK')).toBe(true)

    clock = T0 + 11 * MIN
    engine.onRegistryChange({ type: 'state', site: SITE, gateway: 'gw-gqm', state: 'online', session: 2 })
    expect(engine.list({ state: ['ACTIVE_UNACK', 'ACTIVE_ACK'] })).toEqual([])
    expect(engine.list({ rule: 'stale', state: 'CLEARED_ACK' })).toHaveLength(12)
    // Readings resume: the stale rule's clears find the children closed; nothing new is raised.
    const n = emitted.length
    feed(engine, devices.map((d) => cover(d, T0 + 12 * MIN)))
    expect(emitted.slice(n)).toEqual([])
  })

  it('tick with maxDevices: a pass spread over short calls ticks every device once, round robin', () => {
    const { engine, emitted } = open()
    feed(engine, devices.map((d) => cover(d, T0)))
    expect(engine.deviceCount).toBe(12)
    const now = T0 + 4 * MIN
    for (let call = 0; call < 3; call++) engine.tick(now, { maxDevices: 5 })
    const stale = emitted.filter((t) => t.action.type === 'raise' && t.key.endsWith('/stale'))
    expect(stale).toHaveLength(12)
    expect(new Set(stale.map((t) => t.key)).size).toBe(12)
    // The next calls start a new pass: nothing more to raise.
    engine.tick(now + 1000, { maxDevices: 5 })
    engine.tick(now + 1000, { maxDevices: 50 })
    expect(emitted.filter((t) => t.key.endsWith('/stale'))).toHaveLength(12)
  })

  it('tick with maxDevices writes the periodic state flush in slices: every dirty state lands, none in one long transaction', () => {
    const { engine, db } = open({ stateFlushMs: 60_000 })
    const levels = Array.from({ length: 50 }, (_, i) => reading('gw-up', `wl-${i}`, 'water-level', T0, { level_m: 0.1 }))
    feed(engine, levels)
    const saved = (): number => (db.prepare('SELECT count(*) AS n FROM alarm_device_state').get() as { n: number }).n
    expect(saved()).toBe(0)
    // Not due yet: nothing written.
    engine.tick(T0 + 30_000, { maxDevices: 5 })
    expect(saved()).toBe(0)
    // Due: a round begins, 20 states a call (the minimum slice), until all 50 are written.
    const at = T0 + 61_000
    const after: number[] = []
    for (let call = 0; call < 4; call++) {
      engine.tick(at, { maxDevices: 5 })
      after.push(saved())
    }
    expect(after).toEqual([20, 40, 50, 50])
    // A restart finds every device's state (its windows survive).
    engine.stop()
    const again = open()
    expect(again.engine.deviceCount).toBe(50)
  })

  it('the offline gateway survives a restart: stale children still group under its parent', () => {
    const first = open()
    feed(first.engine, devices.map((d) => cover(d, T0)))
    first.engine.onRegistryChange({ type: 'state', site: SITE, gateway: 'gw-gqm', state: 'offline', session: 1 })
    first.engine.stop()
    const second = open()
    second.engine.tick(T0 + 5 * MIN)
    expect(second.emitted.filter((t) => t.action.type === 'raise' && t.announce)).toEqual([])
    expect(second.engine.list({ rule: 'stale' })).toHaveLength(12)
  })
})

describe('rules', () => {
  it('reloadRules: a removed rule clears its open alarm on the next tick', () => {
    const { engine, emitted } = open()
    feed(engine, [reading('gw-up', 'wl-up-01', 'water-level', T0, { level_m: 0.7 })])
    expect(engine.list({ rule: 'level_m.threshold' })[0]?.status).toBe('ACTIVE_UNACK')
    engine.reloadRules(ruleSet({ 'water-level': [LEVEL_TREND] }))
    engine.tick(T0 + MIN)
    expect(emitted.at(-1)).toMatchObject({ key: 'gw-up/wl-up-01/level_m.threshold', to: 'CLEARED_UNACK', action: { type: 'clear', message: 'rule removed' } })
  })
})

describe('device availability', () => {
  it('unavailable raises an alarm of its own kind; available clears it', () => {
    const { engine } = open()
    feed(engine, [reading('gw-up', 'wl-up-01', 'water-level', T0, { level_m: 0 })])
    engine.onRegistryChange({ type: 'availability', gateway: 'gw-up', device: 'wl-up-01', availability: 'unavailable', reason: 'timeout' })
    expect(engine.list({ rule: UNAVAILABLE_RULE })[0]).toMatchObject({ kind: 'availability', site: SITE, status: 'ACTIVE_UNACK', message: 'device unavailable: timeout' })
    engine.onRegistryChange({ type: 'availability', gateway: 'gw-up', device: 'wl-up-01', availability: 'available' })
    expect(engine.list({ rule: UNAVAILABLE_RULE })[0]?.status).toBe('CLEARED_UNACK')
  })
})

describe('time, maintenance and shelving', () => {
  it('historical readings raise nothing', () => {
    const { engine, emitted } = open()
    const { readings } = storm()
    feed(engine, readings.map((r) => ({ ...r, historical: true })))
    expect(emitted).toEqual([])
    expect(engine.list()).toEqual([])
  })

  it('maintenance suppresses announcing; when it ends, a still-active alarm is released (announced)', () => {
    const { engine, emitted } = open()
    const { readings, crossing } = storm()
    engine.setMaintenance({ site: SITE }, true)
    feed(engine, readings.filter((r) => r.ts <= crossing + 5 * MIN))
    expect(emitted.length).toBeGreaterThan(0)
    expect(emitted.filter((t) => t.announce)).toEqual([])
    expect(engine.list().every((a) => a.suppressed === true)).toBe(true)
    engine.setMaintenance({ site: SITE }, false)
    const released = emitted.filter((t) => t.action.type === 'release')
    expect(released.map((t) => [t.key.split('/')[2], t.announce, t.to])).toEqual(
      expect.arrayContaining([
        ['level_m.trend', true, 'ACTIVE_UNACK'],
        ['level_m.threshold', true, 'ACTIVE_UNACK'],
      ]),
    )
    expect(engine.list().some((a) => a.suppressed)).toBe(false)
  })

  it('a maintenance window with `until` ends by itself on tick', () => {
    const { engine, emitted } = open()
    engine.setMaintenance({ gateway: 'gw-gqm', device: 'mh-01' }, true, { until: T0 + 10 * MIN })
    feed(engine, [reading('gw-gqm', 'mh-01', 'manhole-cover', T0 + MIN, { cover_open: true })])
    expect(emitted.map((t) => t.announce)).toEqual([false])
    engine.tick(T0 + 2 * MIN)
    expect(emitted).toHaveLength(1)
    engine.tick(T0 + 10 * MIN)
    const cover = emitted.filter((t) => t.key === 'gw-gqm/mh-01/cover_open.state')
    expect(cover.map((t) => `${t.action.type} ${t.announce}`)).toEqual(['raise false', 'release true'])
    // The device's stale alarm, raised at the very end of the window, is announced normally.
    expect(emitted.filter((t) => t.key === 'gw-gqm/mh-01/stale').map((t) => `${t.action.type} ${t.announce}`)).toEqual(['raise true'])
  })

  it('shelving hides until expiry; tick past the expiry announces it again', () => {
    const { engine, emitted } = open()
    feed(engine, [reading('gw-gqm', 'mh-01', 'manhole-cover', T0, { cover_open: true })])
    const a = engine.list()[0] as Alarm
    clock = T0 + 1000
    const r = engine.shelve(a.id, 'op.li', T0 + 30 * MIN, 'known: works crew on site')
    expect(r.ok && r.alarm.shelved).toEqual({ by: 'op.li', at: T0 + 1000, until: T0 + 30 * MIN })
    // A worse condition while shelved stays quiet (the cover rule's only severity is critical, so a reopen after a clear stands in).
    feed(engine, [reading('gw-gqm', 'mh-01', 'manhole-cover', T0 + 2 * MIN, { cover_open: false }), reading('gw-gqm', 'mh-01', 'manhole-cover', T0 + 3 * MIN, { cover_open: true })])
    const whileShelved = emitted.filter((t) => t.action.at > T0 + 1000 && t.action.type !== 'shelve')
    expect(whileShelved.map((t) => `${t.action.type} ${t.announce}`)).toEqual(['clear false', 'raise false'])
    engine.tick(T0 + 29 * MIN)
    expect(emitted.some((t) => t.action.type === 'expire-shelve')).toBe(false)
    engine.tick(T0 + 30 * MIN)
    const expired = emitted.filter((t) => t.action.type === 'expire-shelve')
    expect(expired).toHaveLength(1)
    expect(expired[0]).toMatchObject({ announce: true, to: 'ACTIVE_UNACK', action: { actor: 'system', at: T0 + 30 * MIN } })
    expect(engine.get(a.id)?.shelved).toBeUndefined()
  })
})
