/**
 * A gateway (outbox + session file + uplink) and a "cloud" (a subscriber to everything
 * of the gateway, which also publishes commands) around a real broker, for the uplink's
 * integration tests. Every wait is bounded; `cleanup()` closes everything a test opened.
 */
import type { TestContext } from 'vitest'
import {
  decode,
  topicFor,
  topics,
  TOPIC_KINDS,
  TOPIC_SPECS,
  type CommandRequest,
  type CommandResponse,
  type Decoded,
  type MessageByKind,
  type Reading,
  type TopicKind,
} from '../../../shared/mqtt/index.ts'
import { BINARIES, requireBinary } from '../../../shared/test-support/binaries.ts'
import { collect, startAedes, startMosquitto, type Collector, type TestBroker } from '../../../simulators/test-support/broker.ts'
import type { Outbox } from '../../outbox/index.ts'
import { openOutbox, tempDir } from '../../outbox/test-support/outbox-helpers.ts'
import { FileSessionStore } from '../session-store.ts'
import { Uplink, type BirthSource, type UplinkOptions } from '../uplink.ts'
import { startProxy, type Proxy } from './proxy.ts'

export const SITE = 'north'
export const GATEWAY = 'gw-01'
export const CLIENT_ID = 'muni-edge-gw-01'

export const BIRTH: BirthSource = () => ({
  gateway: GATEWAY,
  site: SITE,
  agent: { name: 'muni-edge', version: '0.1.0' },
  devices: [
    { device: 'pv-01', profile: 'acme-valve@1.0', firmware: '1.0', kind: 'pipe-pressure', bus: 'rs485-1', unit: 3 },
    { device: 'wl-07', profile: 'hydro-wl5@2.1.0', firmware: '2.1.0', kind: 'water-level', bus: 'rs485-1', unit: 7 },
  ],
})

/** Bounded polling wait. */
export async function until(what: string | (() => string), predicate: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** A logger that keeps every line, debug (MQTT.js's own log) included. */
export function captureLogger(): { logger: Required<NonNullable<UplinkOptions['logger']>>; lines: string[] } {
  const lines: string[] = []
  const at = (level: string) => (m: string) => void lines.push(`${level} ${m}`)
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } }
}

/** One message the cloud received, decoded (throws on anything the contract rejects). */
export type Seen = Decoded & { retain: boolean; index: number; bytes: Buffer }

export interface Cloud {
  readonly collector: Collector
  /** Everything received so far, decoded, in arrival order. */
  seen(): Seen[]
  /** Messages of one kind, in arrival order. */
  of<K extends TopicKind>(kind: K): Array<{ message: MessageByKind[K]; index: number; retain: boolean; bytes: Buffer }>
  /** Waits for a message of `kind` that satisfies `predicate` and arrived after index `after`. */
  next<K extends TopicKind>(kind: K, predicate?: (m: MessageByKind[K]) => boolean, after?: number, ms?: number): Promise<{ message: MessageByKind[K]; index: number }>
  /** Publishes a command (QoS 1), as the cloud API would. */
  command(req: CommandRequest | string): Promise<void>
  /** Waits for the response to `id`. */
  response(id: string, ms?: number): Promise<{ message: CommandResponse; index: number }>
  close(): Promise<void>
}

export async function startCloud(url: string): Promise<Cloud> {
  // What the cloud subscribes to (filters.cloud()), for this gateway: never its own commands.
  const edgeKinds = TOPIC_KINDS.filter((k) => TOPIC_SPECS[k].publisher === 'edge')
  const collector = await collect(url, edgeKinds.map((k) => topicFor(k, SITE, GATEWAY)))
  const seen = (): Seen[] =>
    collector.messages.map((m, index) => {
      const r = decode(m.topic, m.payload)
      if (!r.ok) throw new Error(`the cloud received an invalid message on ${m.topic}: ${JSON.stringify(r.violations)}`)
      return { ...r, retain: m.retain, index, bytes: m.payload }
    })
  const of = <K extends TopicKind>(kind: K) =>
    seen()
      .filter((s) => s.kind === kind)
      .map((s) => ({ message: s.message as MessageByKind[K], index: s.index, retain: s.retain, bytes: s.bytes }))
  const next: Cloud['next'] = async (kind, predicate = () => true, after = -1, ms = 10_000) => {
    let found: { message: MessageByKind[typeof kind]; index: number } | undefined
    await until(
      () => `a ${kind} message after #${after} (got ${JSON.stringify(seen().map((s) => [s.kind, s.message]))})`,
      () => (found = of(kind).find((m) => m.index > after && predicate(m.message))) !== undefined,
      ms,
    )
    return found!
  }
  return {
    collector,
    seen,
    of,
    next,
    async command(req) {
      await collector.client.publishAsync(topics.command(SITE, GATEWAY), typeof req === 'string' ? req : JSON.stringify(req), { qos: 1 })
    },
    response: (id, ms) => next('command/response', (m) => m.id === id, -1, ms),
    close: () => collector.close(),
  }
}

/** The brokers every lifecycle test runs against. */
export const BROKERS = [
  { name: 'aedes', start: (): Promise<TestBroker> => startAedes() },
  {
    name: 'mosquitto',
    start: (ctx?: Pick<TestContext, 'skip'>): Promise<TestBroker> => {
      if (ctx !== undefined) requireBinary(ctx, BINARIES.mosquitto)
      return startMosquitto()
    },
  },
] as const

export interface Gateway {
  readonly uplink: Uplink
  readonly outbox: Outbox
  readonly sessions: FileSessionStore
  readonly log: string[]
  /** Appends readings and kicks the uplink, as the poller would. */
  append(readings: readonly Reading[]): void
}

/** Things to close after each test, last opened first. */
export class Cleanup {
  readonly #steps: Array<() => unknown> = []
  add(step: () => unknown): void {
    this.#steps.push(step)
  }
  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step()
      } catch {
        // best effort: the next step still runs
      }
    }
  }
}

/** An outbox in a temp folder, a session file next to it, and an uplink to `url`. */
export function startGateway(url: string, cleanup: Cleanup, options: Partial<UplinkOptions> = {}, dir = tempDir('muni-uplink-')): Gateway {
  cleanup.add(() => dir.remove())
  const outbox = openOutbox(dir.file('outbox.db'), { site: SITE, gateway: GATEWAY })
  cleanup.add(() => outbox.close())
  const sessions = new FileSessionStore(dir.file('session.json'))
  const { logger, lines } = captureLogger()
  const uplink = new Uplink({
    site: SITE,
    gateway: GATEWAY,
    broker: { url, clientId: CLIENT_ID, keepaliveS: 30 },
    outbox,
    birth: BIRTH,
    sessionStore: sessions,
    batch: { maxReadings: 10, maxBytes: 64 * 1024, maxDelayMs: 0 },
    onCommand: async (req) => ({ id: req.id, ts: Date.now(), ok: true }),
    reconnect: { initialMs: 50, maxMs: 400 },
    connectTimeoutMs: 5_000,
    pollMs: 20,
    stopTimeoutMs: 2_000,
    logger,
    ...options,
  })
  cleanup.add(() => uplink.stop())
  uplink.start()
  return {
    uplink,
    outbox,
    sessions,
    log: lines,
    append(readings) {
      outbox.append(readings)
      uplink.kick()
    },
  }
}

/** A broker behind a proxy, and a cloud subscribed to it directly. */
export async function startSite(
  broker: (typeof BROKERS)[number],
  ctx: Pick<TestContext, 'skip'>,
  cleanup: Cleanup,
): Promise<{ broker: TestBroker; proxy: Proxy; cloud: Cloud }> {
  const b = await broker.start(ctx)
  cleanup.add(() => b.close())
  const proxy = await startProxy(b.port)
  cleanup.add(() => proxy.close())
  const cloud = await startCloud(b.url)
  cleanup.add(() => cloud.close())
  return { broker: b, proxy, cloud }
}

/** A reading of device `device` at `ts` with one value. */
export function reading(device: string, ts: number, value = ts % 1000): Reading {
  return { device, ts, values: { level_m: value }, errors: {}, historical: false }
}
