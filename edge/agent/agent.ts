/**
 * The edge agent: the parts wired into one running gateway.
 *
 *   start():  outbox.open → transports + polling engine → uplink.start → engine.start
 *             → OPC UA drivers (node-opcua loaded only then) → health server
 *             (its bound port written to `{gateway}.state.json` beside the buffer, state-file.ts)
 *   stop():   state file → health server → engine → OPC UA drivers → uplink (retained offline) → outbox.close; each step bounded
 *
 * Readings go engine → `outbox.append` (durable on return) → `uplink.kick`; device events
 * go to `uplink.publishEvent`; commands come back through `handleCommand` onto the engine.
 * What fails at runtime (a bus that cannot open, a device that does not answer, a broker
 * that is away) is a status, never a stop: the engine and the uplink retry on their own.
 * What fails at start-up before anything runs (the outbox locked by another agent, a
 * corrupt buffer) throws from `start()`.
 */
import { dirname, join } from 'node:path'
import type { DeviceEvent, Reading } from '../../shared/mqtt/index.ts'
import type { ResolvedProfile } from '../../shared/profile/resolve.ts'
import { handleCommand, rememberingHandler, type CommandContext } from '../commands/index.ts'
import type { GatewayConfig } from '../config/load.ts'
import { createTransport, type DriverTransport } from '../drivers/registry.ts'
import type { Transport } from '../drivers/transport.ts'
import { HEALTH_HOST, HealthServer } from '../health/server.ts'
import { Outbox } from '../outbox/index.ts'
import { PollingEngine } from '../polling/engine.ts'
import { loadProfiles } from '../profiles/load.ts'
import { FileSessionStore, Uplink, type UplinkOutbox } from '../uplink/index.ts'
import type { OpcuaDriver } from '../opcua/driver.ts'
import { birthDevices, driverBus, engineDescription, modbusBuses, opcuaDevices, polledDevices } from './description.ts'
import { AgentReport } from './report.ts'
import { removeAgentState, stateFilePath, writeAgentState } from './state-file.ts'

export const AGENT_NAME = 'muni-edge'

export interface AgentOptions {
  /** One line per notable event (default: stderr). Never given a secret. */
  readonly log?: (line: string) => void
  /** The profile library (default: read from `config.profilesDir`). */
  readonly profiles?: ReadonlyMap<string, ResolvedProfile>
  readonly version?: string
  /** Longest wait for each step of `stop()`, ms (default 5000). */
  readonly stopStepMs?: number
}

/** A transport for a bus whose driver could not be made: every request fails as `transport`, so its devices report unavailable. */
function brokenTransport(detail: string): Transport {
  const failure = { ok: false, failure: { kind: 'transport', detail }, latencyMs: 0 } as const
  return {
    read: async () => failure,
    write: async () => failure,
    start: async () => {
      throw new Error(detail)
    },
    stop: async () => undefined,
  }
}

const bounded = async (what: string, p: Promise<unknown> | (() => unknown), ms: number, log: (l: string) => void): Promise<void> => {
  let timer: NodeJS.Timeout | undefined
  try {
    const work = typeof p === 'function' ? Promise.resolve().then(p) : p
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))
    if ((await Promise.race([work, timeout])) === 'timeout') log(`stop: ${what} did not finish within ${ms} ms; going on`)
  } catch (e) {
    log(`stop: ${what}: ${e instanceof Error ? e.message : String(e)}`)
  } finally {
    clearTimeout(timer)
  }
}

export class Agent {
  readonly config: GatewayConfig
  readonly #o: AgentOptions
  readonly #log: (line: string) => void
  #outbox: Outbox | undefined
  #engine: PollingEngine | undefined
  #uplink: Uplink | undefined
  #health: HealthServer | undefined
  #report: AgentReport | undefined
  #sampler: NodeJS.Timeout | undefined
  #statePath: string | undefined
  readonly #opcua: OpcuaDriver[] = []
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new'
  #stopped: Promise<void> | undefined

  /** Keeps the config; opens nothing. */
  constructor(config: GatewayConfig, options: AgentOptions = {}) {
    this.config = config
    this.#o = options
    this.#log = options.log ?? ((l) => void process.stderr.write(`${l}\n`))
  }

  /** The health endpoint's port, once started (undefined without `http` in the config). */
  get httpPort(): number | undefined {
    return this.#health?.port
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error('the agent was already started')
    this.#state = 'starting'
    const c = this.config
    const log = this.#log
    try {
      const profiles = this.#o.profiles ?? this.#loadProfiles()

      const outbox = new Outbox({ path: c.buffer.path, site: c.site, gateway: c.gateway, maxReadings: c.buffer.maxReadings, maxAgeMs: c.buffer.maxAgeH * 3_600_000 })
      outbox.open()
      this.#outbox = outbox
      const backlog = outbox.stats()
      log(`outbox ${c.buffer.path}: ${backlog.readings} reading(s) waiting${backlog.lastSeq !== undefined ? `, last seq ${backlog.lastSeq}` : ''}`)

      const transports = new Map<string, Transport>()
      const drivers = new Map<string, DriverTransport>()
      for (const bus of modbusBuses(c)) {
        try {
          const t = createTransport(driverBus(bus))
          transports.set(bus.id, t)
          drivers.set(bus.id, t)
        } catch (e) {
          const reason = e instanceof Error ? e.message : String(e)
          log(`bus ${bus.id}: no driver (${reason}); its devices will be reported unavailable`)
          transports.set(bus.id, brokenTransport(reason))
        }
      }

      let uplink: Uplink | undefined
      const engine = new PollingEngine(engineDescription(c, profiles, transports), {
        onReading: (r) => this.#onReading(r),
        onEvent: (e) => this.#onEvent(e),
      })
      this.#engine = engine
      const report = new AgentReport({
        config: c,
        outbox,
        engine,
        drivers,
        uplink: () => uplink,
        opcua: () => this.#opcua.map((d) => ({ device: d.device.id, bus: c.devices.find((x) => x.id === d.device.id)?.bus ?? '', available: d.available })),
      })
      this.#report = report

      const devices = new Map(polledDevices(c, profiles).map(({ device, profile }) => [device.id, { profile }]))
      const ctx: CommandContext = {
        devices,
        write: (d, p, v) => engine.write(d, p, v),
        readNow: (d) => engine.readNow(d),
        setInterval: (d, ms) => engine.setPollInterval(d, ms),
        rebirth: () => uplink?.rebirth(),
        now: Date.now,
      }
      const birthList = birthDevices(c, profiles)
      // The uplink's PUBACKs are what "published" means: note when the last one came.
      const acked: UplinkOutbox = {
        nextBatch: (o) => outbox.nextBatch(o),
        ack: (seq) => {
          const ok = outbox.ack(seq)
          report.published(Date.now())
          return ok
        },
        nack: (seq) => outbox.nack(seq),
        nackAll: () => outbox.nackAll(),
        setUplink: (up) => outbox.setUplink(up),
        stats: () => outbox.stats(),
      }
      uplink = new Uplink({
        site: c.site,
        gateway: c.gateway,
        broker: c.broker,
        outbox: acked,
        birth: () => ({ gateway: c.gateway, site: c.site, agent: { name: AGENT_NAME, version: this.#o.version ?? '0.0.0' }, devices: birthList }),
        sessionStore: new FileSessionStore(join(dirname(c.buffer.path), `${c.gateway}.session.json`)),
        batch: { maxReadings: 500, maxBytes: 128 * 1024, maxDelayMs: 1_000 },
        reconnect: { maxMs: c.broker.reconnectMaxS * 1_000 },
        onCommand: rememberingHandler((req) => {
          log(`command ${req.id}: ${req.type}${'device' in req ? ` ${String(req.device)}` : ''}`)
          return handleCommand(req, ctx)
        }),
        onOnline: (session) => log(`uplink online: ${c.broker.scheme}://${c.broker.host}:${c.broker.port}, session ${session}`),
        logger: { info: (m) => log(`uplink: ${m}`), warn: (m) => log(`uplink: ${m}`), error: (m) => log(`uplink: ${m}`) },
      })
      this.#uplink = uplink
      uplink.start()

      log(`polling ${engine.status().devices.length} device(s) on ${c.buses.length} bus(es)`)
      await engine.start()
      for (const b of engine.status().buses) if (b.transportError !== undefined) log(`bus ${b.id}: cannot open: ${b.transportError}; retrying`)

      await this.#startOpcua(profiles)

      // Latency samples are taken from the drivers' rings every second, so none is missed.
      this.#sampler = setInterval(() => report.sample(), 1_000)
      this.#sampler.unref()

      if (c.http !== undefined) {
        const health = new HealthServer({ port: c.http.port, health: () => report.health(), metrics: () => report.metrics() })
        this.#health = health
        await health.start()
        const url = `http://${HEALTH_HOST}:${health.port}`
        log(`health on ${url}/health, metrics on /metrics`)
        this.#statePath = stateFilePath(c)
        writeAgentState(this.#statePath, { pid: process.pid, health: url, startedAt: new Date().toISOString() })
      }
      this.#state = 'running'
    } catch (e) {
      await this.stop()
      throw e
    }
  }

  /** Stops everything in reverse order, each step bounded; safe to call twice. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping'
    const ms = this.#o.stopStepMs ?? 5_000
    const log = this.#log
    clearInterval(this.#sampler)
    if (this.#statePath !== undefined) removeAgentState(this.#statePath)
    if (this.#health) await bounded('health server', this.#health.stop(), ms, log)
    if (this.#engine) await bounded('polling engine', this.#engine.stop(), ms, log)
    for (const d of this.#opcua) await bounded(`OPC UA device ${d.device.id}`, d.stop(), ms, log)
    if (this.#uplink) await bounded('uplink', this.#uplink.stop(), ms, log)
    const outbox = this.#outbox
    if (outbox) await bounded('outbox', () => outbox.close(), ms, log)
    this.#state = 'stopped'
    log('stopped')
  }

  /**
   * One OPC UA driver per device on an OPC UA bus; its readings and events take the
   * Modbus devices' way (outbox, uplink). node-opcua is imported only here, when the
   * gateway has such a device: loaded, it costs a gateway ~70 MB of RSS.
   */
  async #startOpcua(profiles: ReadonlyMap<string, ResolvedProfile>): Promise<void> {
    const devices = opcuaDevices(this.config, profiles)
    if (devices.length === 0) return
    const { OpcuaDriver, routeOpcuaLogs } = await import('../opcua/driver.ts')
    routeOpcuaLogs(this.#log)
    const pkiRoot = join(dirname(this.config.buffer.path), 'opcua-pki')
    await Promise.all(
      devices.map(async ({ bus, spec }) => {
        const driver = new OpcuaDriver({
          device: spec,
          onReading: (r) => this.#onReading(r),
          onEvent: (e) => this.#onEvent(e),
          security: { mode: bus.securityMode, policy: bus.securityPolicy },
          ...(bus.username !== undefined && bus.password !== undefined && { user: { username: bus.username, password: bus.password.reveal() } }),
          requestTimeoutMs: bus.timeoutMs,
          pkiRoot,
        })
        this.#opcua.push(driver)
        this.#log(`opcua ${spec.id}: ${bus.endpoint}, ${bus.mode} every ${bus.samplingMs} ms, ${spec.points.length} node(s), security ${bus.securityMode}/${bus.securityPolicy}`)
        try {
          // Resolves after the first connect round; a server that is away is retried by the driver.
          await driver.start()
        } catch (e) {
          this.#log(`opcua ${spec.id}: not started: ${e instanceof Error ? e.message : String(e)}`)
        }
      }),
    )
  }

  #loadProfiles(): ReadonlyMap<string, ResolvedProfile> {
    const lib = loadProfiles([this.config.profilesDir])
    for (const i of lib.issues) this.#log(`profiles: ${i.file}:${i.line}:${i.column}: ${i.field}: ${i.reason}`)
    for (const d of this.config.devices) if (d.enabled && !lib.profiles.has(d.profile)) this.#log(`device ${d.id}: profile ${d.profile} not found; not polled`)
    return lib.profiles
  }

  #onReading(r: Reading): void {
    const outbox = this.#outbox
    if (!outbox || this.#state === 'stopped') return
    try {
      outbox.append([r])
    } catch (e) {
      // Not stored means not sent: count it and say so; polling goes on.
      this.#report?.appendFailed()
      this.#log(`outbox: reading of ${r.device} not stored: ${e instanceof Error ? e.message : String(e)}`)
      return
    }
    this.#uplink?.kick()
  }

  #onEvent(e: DeviceEvent): void {
    const err = e.error ? ` (${e.error.code}${e.error.detail !== undefined ? `: ${e.error.detail}` : ''})` : ''
    this.#log(`device ${e.device}: ${e.event}${e.reason !== undefined ? `: ${e.reason}` : ''}${err}`)
    try {
      this.#uplink?.publishEvent(e)
    } catch (x) {
      this.#log(`event of ${e.device} not sent: ${x instanceof Error ? x.message : String(x)}`)
    }
  }
}
