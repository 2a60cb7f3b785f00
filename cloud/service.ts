/**
 * `muni cloud`: the parts wired into one running service.
 *
 *   start(): state db → telemetry store → registry, dead letters, alarm engine (rules from the
 *            profiles' hints + the rules file), ingest (durable readings → alarm engine)
 *            → broker (embedded Aedes, ingest in its `published` hook, before the PUBACK)
 *              or consumer (external broker, shared subscription)
 *            → API (Fastify) listening
 *   stop():  API → broker/consumer (no new messages) → ingest drained → registry flushed → store, db
 *
 * Every part is reached through the interfaces of `model.ts`; this file only connects them.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApi, openTokenStore, type TokenStore } from './api/index.ts'
import { startBroker, type Broker } from './broker/index.ts'
import { AlarmEngine } from './alarms/engine.ts'
import { LiveFeed } from './alarms/feed.ts'
import { loadRuleSet } from './alarms/load.ts'
import { WebhookDelivery } from './alarms/webhooks.ts'
import { formatIssue } from '../shared/yaml/issue.ts'
import { DEFAULT_ALARMS, type CloudConfig } from './config/config.ts'
import { redactUrl, startExternalConsumer, type ExternalConsumer } from './consumer/external.ts'
import { decode } from '../shared/mqtt/index.ts'
import { DeadLetters } from './ingest/dead-letters.ts'
import { Ingest } from './ingest/ingest.ts'
import { renderCloudMetrics } from './metrics.ts'
import { Checkpointer } from './state/checkpointer.ts'
import type { StoredReading, TelemetryStore } from './model.ts'
import { Registry, type RegistryChange } from './registry/registry.ts'
import { openStateDb, type StateDb } from './state/db.ts'
import { openTelemetryStore } from './storage/index.ts'

export interface CloudOptions {
  /** One line per notable event (default: stderr). Never given a secret. */
  log?: (line: string) => void
  /** Fastify/pino logger option for the API (default off: the service logs through `log`). */
  apiLogger?: boolean | object
  /** Registry changes, for the alarm engine and tests. */
  onChange?: (change: RegistryChange) => void
}

export interface CloudEndpoints {
  /** The MQTT URL gateways connect to (embedded mode), e.g. mqtt://127.0.0.1:1883. */
  mqtt?: string
  /** The API base URL, e.g. http://127.0.0.1:8080. */
  api: string
}

export class Cloud {
  readonly config: CloudConfig
  readonly #o: CloudOptions
  readonly #log: (line: string) => void
  #db: StateDb | undefined
  /** WAL checkpoints of the state db, in a worker thread (cloud/state/checkpointer.ts). */
  #checkpointer: Checkpointer | undefined
  #store: TelemetryStore | undefined
  #tokens: TokenStore | undefined
  #registry: Registry | undefined
  #dead: DeadLetters | undefined
  #ingest: Ingest | undefined
  #broker: Broker | undefined
  #consumer: ExternalConsumer | undefined
  #api: FastifyInstance | undefined
  #timers: NodeJS.Timeout[] = []
  #endpoints: CloudEndpoints | undefined
  #alarms: AlarmEngine | undefined
  #webhooks: WebhookDelivery | undefined
  #alarmErrors = 0
  readonly #live = new LiveFeed()
  /** Durable readings waiting for the alarm engine (evaluated after the PUBACKs go out). */
  #toEvaluate: Array<readonly StoredReading[]> = []
  #evaluating: NodeJS.Immediate | undefined

  constructor(config: CloudConfig, options: CloudOptions = {}) {
    this.config = config
    this.#o = options
    this.#log = options.log ?? ((l) => process.stderr.write(`${l}\n`))
  }

  get endpoints(): CloudEndpoints {
    if (this.#endpoints === undefined) throw new Error('the cloud is not started')
    return this.#endpoints
  }

  get registry(): Registry {
    if (this.#registry === undefined) throw new Error('the cloud is not started')
    return this.#registry
  }

  get tokens(): TokenStore {
    if (this.#tokens === undefined) throw new Error('the cloud is not started')
    return this.#tokens
  }

  get store(): TelemetryStore {
    if (this.#store === undefined) throw new Error('the cloud is not started')
    return this.#store
  }

  get deadLetters(): DeadLetters {
    if (this.#dead === undefined) throw new Error('the cloud is not started')
    return this.#dead
  }

  get ingest(): Ingest {
    if (this.#ingest === undefined) throw new Error('the cloud is not started')
    return this.#ingest
  }

  /** The alarm engine; undefined when alarms are disabled in the config. */
  get alarms(): AlarmEngine | undefined {
    return this.#alarms
  }

  /** Durable alarm transitions and registry changes, as they happen (the SSE stream's source). */
  get live(): LiveFeed {
    return this.#live
  }

  /**
   * Reads the profiles and the rules file again and swaps the rule set (SIGHUP in
   * `muni cloud run`). On an error the running rules stay and the issues are returned.
   */
  reloadRules(): { ok: true } | { ok: false; issues: string[] } {
    const a = this.config.alarms ?? DEFAULT_ALARMS
    if (this.#alarms === undefined) return { ok: false, issues: ['alarms are disabled (alarms.enabled: false)'] }
    const loaded = loadRuleSet({ ...(a.profileDirs ? { profileDirs: a.profileDirs } : {}), ...(a.rulesFile ? { rulesFile: a.rulesFile } : {}) })
    if (loaded.rules === undefined) {
      const issues = loaded.issues.map(formatIssue)
      this.#log(`cloud: alarm rules not reloaded, the running rules stay:\n${issues.join('\n')}`)
      return { ok: false, issues }
    }
    this.#alarms.reloadRules(loaded.rules)
    this.#log(`cloud: alarm rules reloaded (${loaded.profiles} profile(s)${a.rulesFile ? ` + ${a.rulesFile}` : ''})`)
    return { ok: true }
  }

  async start(): Promise<CloudEndpoints> {
    const c = this.config
    try {
      mkdirSync(c.dataDir, { recursive: true })
      const statePath = join(c.dataDir, 'state.sqlite')
      this.#db = openStateDb(statePath)
      this.#checkpointer = new Checkpointer(this.#db, statePath, { log: this.#log })
      this.#store = await openTelemetryStore(c.storage)
      this.#tokens = openTokenStore(join(c.dataDir, 'tokens.sqlite'))
      const registry = (this.#registry = new Registry(this.#db))
      const dead = (this.#dead = new DeadLetters(this.#db))
      const a = c.alarms ?? DEFAULT_ALARMS
      if (a.enabled) {
        const loaded = loadRuleSet({ ...(a.profileDirs ? { profileDirs: a.profileDirs } : {}), ...(a.rulesFile ? { rulesFile: a.rulesFile } : {}) })
        if (loaded.rules === undefined) throw new Error(`alarm rules:\n${loaded.issues.map(formatIssue).join('\n')}`)
        const live = this.#live
        const engine = (this.#alarms = new AlarmEngine({
          db: this.#db,
          rules: loaded.rules,
          lookup: (g, d) => registry.lookup(g, d),
          onTransition: (t, alarm) => {
            // Synchronously after the commit: the SSE stream relies on it (no gap between replay and live).
            live.publishTransition(t, alarm)
            if (t.announce) this.#webhooks?.notify(t.id)
          },
          log: this.#log,
        }))
        engine.start()
        if (a.webhooks.length > 0) {
          const delivery = (this.#webhooks = new WebhookDelivery({ db: this.#db, source: engine, targets: a.webhooks, log: this.#log }))
          delivery.start()
          this.#log(`cloud: webhooks to ${a.webhooks.map((w) => w.name).join(', ')}`)
        }
        // One pass over all devices per tickS, spread over 10 short calls: a single pass over
        // thousands of devices would block the event loop (and every alarm behind it) for ms.
        const slices = 10
        this.#timers.push(
          setInterval(() => this.#guard('tick', () => engine.tick(undefined, { maxDevices: Math.ceil(engine.deviceCount / slices) })), Math.max(1, Math.round(a.tickMs / slices))).unref(),
        )
        this.#log(`cloud: alarms on: ${loaded.profiles} profile(s)${a.rulesFile ? ` + rules ${a.rulesFile}` : ''}, ${engine.list({ state: ['ACTIVE_UNACK', 'ACTIVE_ACK', 'CLEARED_UNACK'] }).length} alarm(s) open`)
      }
      const ingest = (this.#ingest = new Ingest({
        store: this.#store,
        registry,
        deadLetters: dead,
        db: this.#db,
        batchReadings: c.ingest.batchReadings,
        maxPendingReadings: c.ingest.maxPendingReadings,
        maxFutureMs: c.ingest.maxFutureMs,
        onChange: (change) => {
          this.#logChange(change)
          this.#o.onChange?.(change)
          // After the readings stored before it: a Last Will must not overtake the readings that preceded it.
          this.#evaluateNow()
          if (this.#alarms) this.#guard('registry change', () => this.#alarms?.onRegistryChange(change))
          this.#live.publishRegistry(change)
        },
        // Embedded broker: evaluate what this process stored. External broker: the alarm worker
        // evaluates every gateway's stream from its own plain subscription instead (`observe`).
        ...(this.#alarms && c.broker.mode === 'embedded' ? { onStored: (readings: readonly StoredReading[]) => this.#queueEvaluation(readings) } : {}),
      }))
      this.#timers.push(setInterval(() => registry.flushLastValues(), 5000).unref(), setInterval(() => ingest.pruneDedupe(), 3_600_000).unref())
      ingest.pruneDedupe()

      let mqttUrl: string | undefined
      const b = c.broker
      if (b.mode === 'embedded') {
        this.#broker = await startBroker({
          host: b.host,
          port: b.port,
          allowAnonymous: b.allowAnonymous,
          persistencePath: join(c.dataDir, 'broker.sqlite'),
          ...(b.credentials !== undefined ? { credentialsFile: b.credentials } : {}),
          ...(b.tls !== undefined ? { tls: b.tls } : {}),
          ...(b.ws !== undefined ? { ws: b.ws } : {}),
          onPublish: (packet, client) => ingest.handle(packet.topic, packet.payload as Buffer, client ? { client } : {}),
          log: this.#log,
        })
        mqttUrl = `mqtt://${b.host}:${this.#broker.port}`
        this.#log(`cloud: MQTT broker on ${mqttUrl}${b.allowAnonymous ? ' (DEVELOPMENT MODE: anonymous clients allowed)' : ''}`)
      } else {
        this.#consumer = startExternalConsumer({
          url: b.url,
          clientId: b.clientId,
          group: b.group,
          connections: b.connections,
          ...(b.username !== undefined ? { username: b.username } : {}),
          ...(b.password !== undefined ? { password: b.password } : {}),
          ...(b.ca !== undefined ? { ca: b.ca } : {}),
          handle: (topic, payload, meta) => ingest.handle(topic, payload, meta),
          ...(this.#alarms ? { observe: (topic: string, payload: Buffer) => this.#observe(topic, payload) } : {}),
          log: this.#log,
        })
        this.#log(`cloud: consuming from ${redactUrl(b.url)} as $share/${b.group} with ${b.connections} connection(s)`)
        if (this.#alarms) {
          this.#log(
            'cloud: this worker evaluates alarms: it also takes every gateway\'s telemetry on a plain subscription. Run exactly one such worker; set alarms.enabled: false on the others',
          )
        }
      }

      this.#api = await buildApi({
        registry,
        telemetry: this.#store,
        deadLetters: dead,
        tokens: this.#tokens,
        health: () => this.#health(),
        metrics: () => this.#metrics(),
        ...(this.#alarms ? { alarms: this.#alarms } : {}),
        live: this.#live,
        ...(this.#o.apiLogger !== undefined ? { logger: this.#o.apiLogger } : {}),
      })
      await this.#api.listen({ host: c.api.host, port: c.api.port })
      const addr = this.#api.server.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : c.api.port
      this.#endpoints = { api: `http://${c.api.host}:${port}`, ...(mqttUrl !== undefined ? { mqtt: mqttUrl } : {}) }
      this.#log(`cloud: API on ${this.#endpoints.api} (OpenAPI at ${this.#endpoints.api}/docs); storage ${this.#store.name}`)
      return this.#endpoints
    } catch (e) {
      await this.stop()
      throw e
    }
  }

  /**
   * The alarm worker in external mode: one telemetry message of the plain subscription,
   * evaluated in broker order. Storing it is the shared group's job (this worker's share
   * included); a message the group dead-letters (unknown gateway or device, invalid) is
   * skipped here for the same reason.
   */
  #observe(topic: string, payload: Buffer): void {
    const engine = this.#alarms
    const registry = this.#registry
    if (engine === undefined || registry === undefined) return
    const r = decode(topic, payload)
    if (!r.ok || r.kind !== 'telemetry') return
    const { site, gateway } = r.topic
    const readings: StoredReading[] = []
    for (const x of r.message.readings) {
      const d = registry.lookup(gateway, x.device)
      if (d !== undefined) readings.push({ site, gateway, device: x.device, kind: d.kind, ts: x.ts, values: x.values, errors: x.errors, historical: x.historical, seq: r.message.seq })
    }
    if (readings.length > 0) this.#guard('evaluation', () => engine.onReadings(readings))
  }

  #queueEvaluation(readings: readonly StoredReading[]): void {
    this.#toEvaluate.push(readings)
    this.#evaluating ??= setImmediate(() => this.#evaluateNow())
  }

  /** Evaluates every queued durable reading, oldest write first. */
  #evaluateNow(): void {
    if (this.#evaluating !== undefined) clearImmediate(this.#evaluating)
    this.#evaluating = undefined
    const engine = this.#alarms
    const queued = this.#toEvaluate
    this.#toEvaluate = []
    if (engine === undefined) return
    for (const readings of queued) this.#guard('evaluation', () => engine.onReadings(readings))
  }

  /**
   * Runs one alarm-engine step; a throw is logged, never taken out on ingest. The engine is
   * unchanged by a step that throws (its commit is all or nothing).
   */
  #guard(what: string, f: () => unknown): void {
    try {
      f()
    } catch (e) {
      this.#alarmErrors++
      this.#log(`cloud: alarms: ${what} failed: ${e instanceof Error ? e.message : String(e)}`)
    }
  }

  /** Resolves once the external consumer has subscribed (at once in embedded mode). */
  async ready(): Promise<void> {
    await this.#consumer?.ready
  }

  #health(): { ok: boolean; checks: Record<string, { ok: boolean; detail?: string }> } {
    const checks: Record<string, { ok: boolean; detail?: string }> = {}
    const s = this.#ingest?.stats()
    checks.ingest = { ok: s !== undefined && s.pendingReadings < this.config.ingest.maxPendingReadings, detail: `${s?.pendingReadings ?? 0} readings pending` }
    if (this.#consumer) {
      const cs = this.#consumer.stats()
      checks.broker = { ok: cs.connected === cs.connections, detail: `${cs.connected}/${cs.connections} connections up` }
    } else {
      checks.broker = { ok: this.#broker !== undefined, detail: this.#broker ? `${this.#broker.stats().clients} clients` : 'not started' }
    }
    return { ok: Object.values(checks).every((c) => c.ok), checks }
  }

  #metrics(): string {
    if (!this.#ingest || !this.#dead || !this.#registry) return ''
    const byAvailability: Record<string, number> = {}
    const devices = this.#registry.devices()
    for (const d of devices) byAvailability[d.availability] = (byAvailability[d.availability] ?? 0) + 1
    const gateways: Record<string, number> = {}
    for (const g of this.#registry.gateways()) gateways[g.state] = (gateways[g.state] ?? 0) + 1
    return renderCloudMetrics({
      ingest: this.#ingest.stats(),
      deadLettersByReason: this.#dead.countByReason(),
      devices: { total: devices.length, byAvailability },
      gateways,
      ...(this.#broker ? { broker: this.#broker.stats() as unknown as Record<string, number> } : this.#consumer ? { broker: this.#consumer.stats() } : {}),
      ...(this.#alarms ? { alarms: { open: this.#openAlarms(), errors: this.#alarmErrors, live: this.#live.listeners } } : {}),
      ...(this.#webhooks ? { webhooks: this.#webhooks.stats() } : {}),
    })
  }

  #openAlarms(): Array<{ status: string; severity: string; n: number }> {
    const counts = new Map<string, { status: string; severity: string; n: number }>()
    for (const a of this.#alarms?.list({ state: ['ACTIVE_UNACK', 'ACTIVE_ACK', 'CLEARED_UNACK'] }) ?? []) {
      const k = `${a.status}/${a.severity}`
      const c = counts.get(k)
      if (c) c.n++
      else counts.set(k, { status: a.status, severity: a.severity, n: 1 })
    }
    return [...counts.values()]
  }

  #logChange(c: RegistryChange): void {
    if (c.type === 'birth') this.#log(`cloud: birth of ${c.site}/${c.gateway} (session ${c.session}): ${c.added.length} device(s) added, ${c.removed.length} removed`)
    else if (c.type === 'state') this.#log(`cloud: gateway ${c.site}/${c.gateway} is ${c.state} (session ${c.session})`)
    else if (c.type === 'stale-state') this.#log(`cloud: ignored a state of ${c.site}/${c.gateway} from session ${c.session} (current ${c.current})`)
    else this.#log(`cloud: device ${c.gateway}/${c.device} is ${c.availability}${c.reason ? ` (${c.reason})` : ''}`)
  }

  /** Stops everything; safe to call more than once, and after a failed start. */
  async stop(): Promise<void> {
    for (const t of this.#timers.splice(0)) clearInterval(t)
    const step = async (what: string, f: (() => Promise<unknown> | unknown) | undefined): Promise<void> => {
      if (f === undefined) return
      try {
        await f()
      } catch (e) {
        this.#log(`cloud: stop: ${what}: ${e instanceof Error ? e.message : String(e)}`)
      }
    }
    const api = this.#api
    const broker = this.#broker
    const consumer = this.#consumer
    const ingest = this.#ingest
    const registry = this.#registry
    const store = this.#store
    const tokens = this.#tokens
    const db = this.#db
    this.#api = this.#broker = this.#consumer = this.#ingest = this.#store = this.#tokens = this.#db = undefined
    await step('API', api && (() => api.close()))
    await step('broker', broker && (() => broker.close()))
    await step('consumer', consumer && (() => consumer.close()))
    await step('ingest', ingest && (() => ingest.close()))
    const alarms = this.#alarms
    const webhooks = this.#webhooks
    this.#webhooks = undefined
    // The readings ingest has just written are evaluated (and their transitions logged, so a
    // restart's webhook delivery finds them) before the engine writes its states.
    await step('webhooks', webhooks && (() => webhooks.stop()))
    await step('alarms', alarms && (() => {
      this.#evaluateNow()
      alarms.stop()
    }))
    this.#alarms = undefined
    await step('registry', registry && (() => registry.flushLastValues()))
    await step('storage', store && (() => store.close()))
    await step('tokens', tokens && (() => tokens.close()))
    const checkpointer = this.#checkpointer
    this.#checkpointer = undefined
    await step('state checkpoints', checkpointer && (() => checkpointer.stop()))
    await step('state', db && (() => db.close()))
  }
}
