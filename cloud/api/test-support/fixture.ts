/**
 * A small world for the API tests: two sites, three gateways, four devices, an hour of
 * samples every 10 s for one device, three dead letters, and one token per role.
 */
import type { FastifyInstance } from 'fastify'
import { AlarmEngine } from '../../alarms/engine.ts'
import { LiveFeed } from '../../alarms/feed.ts'
import { RULES } from '../../alarms/test-support/fixtures.ts'
import { openStateDb } from '../../state/db.ts'
import type { DeadLetter, RegistryDevice, RegistryGateway } from '../../model.ts'
import { buildApi } from '../index.ts'
import type { HealthReport } from '../deps.ts'
import { openTokenStore, ROLES, type Role, type TokenStore } from '../tokens.ts'
import { MemoryDeadLetters, MemoryRegistry, type MemorySample, MemoryTelemetry } from './memory.ts'

/** The fixture's clock: 2024-05-01T12:00:00Z. */
export const NOW = Date.UTC(2024, 4, 1, 12)

export const GATEWAYS: RegistryGateway[] = [
  { site: 'north', gateway: 'gw-01', state: 'online', session: 3, agent: { name: 'muni-edge', version: '0.1.0' }, bornAt: NOW - 86_400_000, stateAt: NOW - 86_400_000, devices: 3 },
  { site: 'north', gateway: 'gw-02', state: 'offline', session: 1, stateAt: NOW - 600_000, devices: 0 },
  { site: 'south', gateway: 'gw-10', state: 'unknown', session: 0, devices: 1 },
]

export const DEVICES: RegistryDevice[] = [
  {
    site: 'north', gateway: 'gw-01', device: 'lvl-1', kind: 'water-level', profile: 'acme-wl100@2.0', firmware: '2.0.3', bus: 'rs485-1', unit: 1,
    location: { lat: 52.1, lon: 4.3 }, asset: 'MH-0042', availability: 'available', lastSeen: NOW - 5000, lastValues: { level_m: 1.25, alarm: false, status: 'ok' },
  },
  { site: 'north', gateway: 'gw-01', device: 'prs-1', kind: 'pipe-pressure', profile: 'acme-pp10@1.1', firmware: '1.1.0', bus: 'rs485-1', unit: 2, availability: 'unavailable', lastError: 'timeout' },
  { site: 'north', gateway: 'gw-01', device: 'cov-1', kind: 'manhole-cover', profile: 'acme-mc200@1.4', firmware: '1.4.0', bus: 'tcp://10.0.0.5:502', availability: 'unknown' },
  { site: 'south', gateway: 'gw-10', device: 'lvl-9', kind: 'water-level', profile: 'acme-wl100@2.0', firmware: '2.0.3', bus: 'rs485-2', availability: 'available' },
]

/** lvl-1 on gw-01: one sample every 10 s over the hour before NOW (360 samples). */
export const SAMPLES: MemorySample[] = Array.from({ length: 360 }, (_, i) => ({
  gateway: 'gw-01',
  device: 'lvl-1',
  ts: NOW - 3_600_000 + i * 10_000,
  values: { level_m: 1 + i / 1000, alarm: i % 60 === 0, status: 'ok' },
}))

export const DEAD_LETTERS: DeadLetter[] = [
  { id: 1, at: NOW - 3000, topic: 'muni/v1/north/gw-01/telemetry', client: 'gw-01', reason: 'invalid', detail: ['/readings/0/ts: must be integer'], payload: '{"x":1}', bytes: 7 },
  { id: 2, at: NOW - 2000, topic: 'muni/v1/north/gw-99/birth', reason: 'unknown_gateway', detail: ['gateway gw-99 is not provisioned'], payload: '{}', bytes: 2 },
  { id: 3, at: NOW - 1000, topic: 'muni/v1/north/gw-01/telemetry', client: 'gw-01', reason: 'invalid', detail: ['/seq: is required'], payload: '{}', bytes: 2 },
]

export interface Fixture {
  app: FastifyInstance
  store: TokenStore
  telemetry: MemoryTelemetry
  /** A token of each role. */
  token: Record<Role, string>
  /** `{ authorization: 'Bearer …' }` for a role. */
  auth: (role: Role) => { authorization: string }
  health: { report: HealthReport }
  close: () => Promise<void>
}

/** `alarms: true` adds a started alarm engine (in-memory state database) and a live feed. */
export async function makeFixture(opts: { logger?: boolean | object; extraMetrics?: string; alarms?: boolean } = {}): Promise<Fixture> {
  const store = openTokenStore(':memory:')
  const stateDb = opts.alarms ? openStateDb(':memory:') : undefined
  const live = new LiveFeed()
  const engine = stateDb ? new AlarmEngine({ db: stateDb, rules: RULES, now: () => NOW, onTransition: (t, a) => live.publishTransition(t, a) }) : undefined
  engine?.start()
  const token = Object.fromEntries(ROLES.map((r) => [r, store.create(`test-${r}`, r).token])) as Record<Role, string>
  const telemetry = new MemoryTelemetry(SAMPLES)
  const health = { report: { ok: true, checks: { storage: { ok: true }, broker: { ok: true, detail: '2 clients' } } } as HealthReport }
  const app = await buildApi({
    registry: new MemoryRegistry(GATEWAYS, DEVICES),
    telemetry,
    deadLetters: new MemoryDeadLetters(DEAD_LETTERS),
    tokens: store,
    health: () => health.report,
    metrics: () => opts.extraMetrics ?? '# HELP muni_ingest_messages_total Messages ingested.\n# TYPE muni_ingest_messages_total counter\nmuni_ingest_messages_total 42\n',
    now: () => NOW,
    ...(engine ? { alarms: engine, live } : {}),
    ...(opts.logger === undefined ? {} : { logger: opts.logger }),
  })
  return {
    app,
    store,
    telemetry,
    token,
    auth: (role) => ({ authorization: `Bearer ${token[role]}` }),
    health,
    close: async () => {
      await app.close()
      store.close()
      engine?.stop()
      stateDb?.close()
    },
  }
}
