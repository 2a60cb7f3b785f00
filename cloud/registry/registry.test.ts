import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Birth } from '../../shared/mqtt/messages.ts'
import { openStateDb, type StateDb } from '../state/db.ts'
import { Registry } from './registry.ts'

const birth = (session: number, devices: string[]): Birth => ({
  gateway: 'gw-1',
  site: 'north',
  session,
  ts: 1_700_000_000_000 + session,
  agent: { name: 'muni-edge', version: '0.1.0' },
  devices: devices.map((d, i) => ({
    device: d,
    profile: 'hydrolux-rl80@2.3',
    firmware: '2.3',
    kind: 'water-level',
    bus: 'rs485-1',
    unit: i + 1,
    location: { lat: 39.9, lon: 116.4 },
    asset: `MH-${i}`,
  })),
})

describe('registry', () => {
  let dir: string
  let db: StateDb
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'muni-registry-'))
    db = openStateDb(join(dir, 'state.sqlite'))
  })
  afterEach(() => {
    db.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('is fed by births, and a new birth replaces the inventory (added, removed)', () => {
    const r = new Registry(db)
    expect(r.applyBirth(birth(1, ['a', 'b']))).toMatchObject({ added: ['a', 'b'], removed: [] })
    expect(r.applyBirth(birth(2, ['b', 'c']))).toMatchObject({ added: ['c'], removed: ['a'] })
    expect(r.devices().map((d) => d.device)).toEqual(['b', 'c'])
    expect(r.sites()).toEqual([{ site: 'north', gateways: 1, devices: 2, online: 0 }])
    expect(r.device('gw-1', 'c')).toMatchObject({ kind: 'water-level', unit: 2, asset: 'MH-1', location: { lat: 39.9, lon: 116.4 }, availability: 'unknown' })
  })

  it('persists inventory, state, availability and (flushed) last values across a reopen', () => {
    const r = new Registry(db)
    r.applyBirth(birth(3, ['a', 'b']))
    r.applyState('north', 'gw-1', { state: 'online', session: 3, ts: 5 }, 6)
    r.applyEvent('gw-1', { device: 'b', ts: 7, event: 'unavailable', error: { code: 'exception', exception: 4, detail: 'slave device failure' } })
    r.noteReading('gw-1', 'a', 100, { level_m: 1.5 })
    r.noteReading('gw-1', 'a', 90, { level_m: 9 }) // older than the last: not the last value
    expect(r.flushLastValues()).toBe(1)
    db.close()
    db = openStateDb(join(dir, 'state.sqlite'))
    const again = new Registry(db)
    expect(again.gateway('north', 'gw-1')).toMatchObject({ state: 'online', session: 3, stateAt: 5, devices: 2, agent: { name: 'muni-edge' } })
    expect(again.device('gw-1', 'a')).toMatchObject({ lastSeen: 100, lastValues: { level_m: 1.5 }, availability: 'available' })
    expect(again.device('gw-1', 'b')).toMatchObject({ availability: 'unavailable', lastError: 'exception 4: slave device failure' })
  })

  it('answers waitForBirth at once for a known gateway, on the birth for a new one, false after the wait', async () => {
    const r = new Registry(db)
    const late = r.waitForBirth('gw-1', 1000)
    const never = r.waitForBirth('gw-2', 30)
    r.applyBirth(birth(1, ['a']))
    expect(await late).toBe(true)
    expect(await never).toBe(false)
    expect(await r.waitForBirth('gw-1', 0)).toBe(true)
  })
})
