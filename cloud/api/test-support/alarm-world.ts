/**
 * The API over a real alarm engine: a temp state database, the alarm test rules, a live
 * feed fed by the engine's `onTransition` (as the service wires it), a token per role,
 * and Fastify listening on 127.0.0.1:0. The clock is the test's.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { AlarmEngine } from '../../alarms/engine.ts'
import { LiveFeed } from '../../alarms/feed.ts'
import { RULES, reading, T0 } from '../../alarms/test-support/fixtures.ts'
import type { StoredReading, RegistryDevice, RegistryGateway } from '../../model.ts'
import { openStateDb, type StateDb } from '../../state/db.ts'
import type { PointValue } from '../../../shared/mqtt/messages.ts'
import type { AlarmApi, StreamOptions } from '../deps.ts'
import { buildApi } from '../index.ts'
import { openTokenStore, ROLES, type Role, type TokenStore } from '../tokens.ts'
import { MemoryDeadLetters, MemoryRegistry, MemoryTelemetry } from './memory.ts'

export { T0 }

const gw = (site: string, gateway: string): RegistryGateway => ({ site, gateway, state: 'online', session: 1, devices: 1 })
const dev = (site: string, gateway: string, device: string, kind: RegistryDevice['kind']): RegistryDevice => ({
  site, gateway, device, kind, profile: 'p@1', firmware: '1', bus: 'rs485-1', availability: 'available',
})
export const GATEWAYS = [gw('dongcheng', 'gw-up'), gw('dongcheng', 'gw-gqm'), gw('xicheng', 'gw-xc')]
export const DEVICES = [
  dev('dongcheng', 'gw-up', 'wl-up-01', 'water-level'),
  dev('dongcheng', 'gw-gqm', 'mh-01', 'manhole-cover'),
  dev('dongcheng', 'gw-gqm', 'mh-02', 'manhole-cover'),
  dev('xicheng', 'gw-xc', 'wl-xc-01', 'water-level'),
]

export interface AlarmWorld {
  app: FastifyInstance
  base: string
  engine: AlarmEngine
  live: LiveFeed
  db: StateDb
  tokens: TokenStore
  clock: { now: number }
  token: Record<Role, string>
  auth: (role: Role) => { authorization: string }
  /** Feeds one reading of a device (its site from DEVICES) at the clock, and moves the clock on by a second. */
  read: (gateway: string, device: string, values: Record<string, PointValue>) => void
  /** The cover of mh-01 (or another cover) opens or closes: a raise or a clear of `{gateway}/{device}/cover_open.state`. */
  cover: (open: boolean, device?: string) => void
  close: () => Promise<void>
}

export async function makeAlarmWorld(opts: { stream?: StreamOptions; logger?: object; withAlarms?: boolean; withLive?: boolean; wrap?: (a: AlarmApi) => AlarmApi } = {}): Promise<AlarmWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'muni-api-alarms-'))
  const db = openStateDb(join(dir, 'state.db'))
  const clock = { now: T0 }
  const live = new LiveFeed()
  const engine = new AlarmEngine({ db, rules: RULES, now: () => clock.now, onTransition: (t, a) => live.publishTransition(t, a) })
  engine.start()
  const tokens = openTokenStore(':memory:')
  const token = Object.fromEntries(ROLES.map((r) => [r, tokens.create(`test-${r}`, r).token])) as Record<Role, string>
  const app = await buildApi({
    registry: new MemoryRegistry(GATEWAYS, DEVICES),
    telemetry: new MemoryTelemetry(),
    deadLetters: new MemoryDeadLetters(),
    tokens,
    health: () => ({ ok: true, checks: {} }),
    metrics: () => '',
    now: () => clock.now,
    ...(opts.withAlarms === false ? {} : { alarms: opts.wrap ? opts.wrap(engine) : engine }),
    ...(opts.withLive === false ? {} : { live }),
    ...(opts.stream ? { stream: opts.stream } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const read = (gateway: string, device: string, values: Record<string, PointValue>): void => {
    const d = DEVICES.find((x) => x.gateway === gateway && x.device === device)
    if (d === undefined) throw new Error(`no device ${gateway}/${device} in the world`)
    const r: StoredReading = { ...reading(gateway, device, d.kind, clock.now, values), site: d.site }
    engine.onReadings([r])
    clock.now += 1000
  }
  return {
    app,
    base: `http://127.0.0.1:${port}`,
    engine,
    live,
    db,
    tokens,
    clock,
    token,
    auth: (role) => ({ authorization: `Bearer ${token[role]}` }),
    read,
    cover: (open, device = 'mh-01') => read('gw-gqm', device, { cover_open: open }),
    close: async () => {
      await app.close()
      engine.stop()
      tokens.close()
      db.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** `encodeURIComponent`: an alarm id as one path segment. */
export const enc = (id: string): string => encodeURIComponent(id)
