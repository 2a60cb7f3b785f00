/**
 * The config the agent runs on: a valid gateway config with every default
 * applied and every path made absolute, so nothing later depends on the working
 * directory or repeats a default. `load.ts` deep-freezes it.
 */
import { resolve } from 'node:path'
import type { Parity } from '../../shared/district/schema.ts'
import type { ProfileFacts } from './checks.ts'
import { interFrameMs } from './checks.ts'
import { DEFAULTS, type BusFile, type DeviceFile, type GatewayConfigFile, type OPCUA_SECURITY_MODES, type OPCUA_SECURITY_POLICIES } from './schema.ts'
import type { Secret } from './secret.ts'

export type BrokerScheme = 'mqtt' | 'mqtts' | 'ws' | 'wss'
export type OpcuaSecurityMode = (typeof OPCUA_SECURITY_MODES)[number]
export type OpcuaSecurityPolicy = (typeof OPCUA_SECURITY_POLICIES)[number]

export interface TlsConfig {
  /** Absolute paths. */
  readonly ca?: string
  readonly cert?: string
  readonly key?: string
  readonly rejectUnauthorized: boolean
}

export interface BrokerConfig {
  /** As written (it never holds credentials: the loader refuses them). */
  readonly url: string
  readonly scheme: BrokerScheme
  readonly host: string
  readonly port: number
  readonly username?: string
  /** The environment variable the password was read from. */
  readonly passwordEnv?: string
  /** The password; prints as `[secret]` (see `Secret`). */
  readonly password?: Secret
  readonly clientId: string
  /** Present exactly when the scheme is encrypted (mqtts, wss). */
  readonly tls?: TlsConfig
  readonly keepaliveS: number
  /** Longest wait between connection attempts, s. */
  readonly reconnectMaxS: number
}

export interface PollIntervals {
  readonly fast: number
  readonly slow: number
}

export interface TcpBusConfig {
  readonly id: string
  readonly type: 'tcp'
  readonly host: string
  readonly port: number
  readonly concurrency: number
  readonly timeoutMs: number
  readonly description?: string
}

export interface RtuBusConfig {
  readonly id: string
  readonly type: 'rtu'
  readonly path: string
  readonly baud: number
  readonly parity: Parity
  readonly dataBits: 8
  readonly stopBits: 1 | 2
  readonly timeoutMs: number
  readonly interFrameMs: number
  readonly description?: string
}

export interface OpcuaBusConfig {
  readonly id: string
  readonly type: 'opcua'
  readonly endpoint: string
  readonly securityMode: OpcuaSecurityMode
  readonly securityPolicy: OpcuaSecurityPolicy
  readonly username?: string
  /** The environment variable the password was read from. */
  readonly passwordEnv?: string
  /** The password; prints as `[secret]`. */
  readonly password?: Secret
  readonly mode: 'subscribe' | 'poll'
  readonly samplingMs: number
  readonly timeoutMs: number
  readonly description?: string
}

export type ModbusBusConfig = TcpBusConfig | RtuBusConfig
export type BusConfig = ModbusBusConfig | OpcuaBusConfig

export interface DeviceConfig {
  readonly id: string
  readonly bus: string
  /** Modbus unit id; none on OPC UA. */
  readonly unit?: number
  readonly profile: string
  /** OPC UA: the NodeId of each point read, by point name; empty on Modbus. */
  readonly nodes: Readonly<Record<string, string>>
  readonly name?: string
  readonly enabled: boolean
  /** Interval per poll class; `pollMs` sets both. */
  readonly poll: PollIntervals
  readonly location?: { readonly lat: number; readonly lon: number }
  readonly asset?: string
  /** Per point name; the profile's deadbands apply to the other points. */
  readonly deadband: Readonly<Record<string, number>>
  /** The device's, else the profile's; none means report-by-exception only. */
  readonly heartbeatS?: number
  readonly description?: string
}

/** A gateway config ready to run: validated, defaults applied, paths absolute, deep-frozen. */
export interface GatewayConfig {
  readonly gateway: string
  readonly site: string
  readonly broker: BrokerConfig
  readonly buffer: { readonly path: string; readonly maxReadings: number; readonly maxAgeH: number }
  /** Loopback health/metrics endpoint; absent when not configured. */
  readonly http?: { readonly port: number }
  /** Absolute folder the profiles were read from. */
  readonly profilesDir: string
  readonly defaults: {
    readonly pollMs: PollIntervals
    readonly timeoutMs: number
    readonly retries: number
    readonly backoff: { readonly initialMs: number; readonly maxMs: number }
  }
  readonly buses: readonly BusConfig[]
  readonly devices: readonly DeviceConfig[]
}

const DEFAULT_PORTS: Readonly<Record<BrokerScheme, number>> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 }

/** Applies defaults to a config that passed every check. */
export function resolveConfig(
  file: GatewayConfigFile,
  context: { baseDir: string; profilesDir: string; password?: Secret; busPasswords?: ReadonlyMap<string, Secret>; profiles?: ReadonlyMap<string, ProfileFacts> },
): GatewayConfig {
  const abs = (p: string): string => resolve(context.baseDir, p)
  const url = new URL(file.broker.url)
  const scheme = url.protocol.slice(0, -1).toLowerCase() as BrokerScheme
  const t = file.broker.tls
  const tls: TlsConfig | undefined =
    scheme === 'mqtts' || scheme === 'wss'
      ? {
          ...(t?.ca !== undefined && { ca: abs(t.ca) }),
          ...(t?.cert !== undefined && { cert: abs(t.cert) }),
          ...(t?.key !== undefined && { key: abs(t.key) }),
          rejectUnauthorized: t?.rejectUnauthorized ?? DEFAULTS.rejectUnauthorized,
        }
      : undefined
  const d = file.defaults
  const defaults = {
    pollMs: { fast: d?.pollMs?.fast ?? DEFAULTS.pollMs.fast, slow: d?.pollMs?.slow ?? DEFAULTS.pollMs.slow },
    timeoutMs: d?.timeoutMs ?? DEFAULTS.timeoutMs,
    retries: d?.retries ?? DEFAULTS.retries,
    backoff: { initialMs: d?.backoff?.initialMs ?? DEFAULTS.backoff.initialMs, maxMs: d?.backoff?.maxMs ?? DEFAULTS.backoff.maxMs },
  }
  return {
    gateway: file.gateway,
    site: file.site,
    broker: {
      url: file.broker.url,
      scheme,
      host: url.hostname,
      port: url.port === '' ? DEFAULT_PORTS[scheme] : Number(url.port),
      ...(file.broker.username !== undefined && { username: file.broker.username }),
      ...(file.broker.passwordEnv !== undefined && { passwordEnv: file.broker.passwordEnv }),
      ...(context.password !== undefined && { password: context.password }),
      clientId: file.broker.clientId ?? `muni-edge-${file.gateway}`,
      ...(tls !== undefined && { tls }),
      keepaliveS: file.broker.keepaliveS ?? DEFAULTS.keepaliveS,
      reconnectMaxS: file.broker.reconnectMaxS ?? DEFAULTS.reconnectMaxS,
    },
    buffer: {
      path: abs(file.buffer.path),
      maxReadings: file.buffer.maxReadings ?? DEFAULTS.maxReadings,
      maxAgeH: file.buffer.maxAgeH ?? DEFAULTS.maxAgeH,
    },
    ...(file.http !== undefined && { http: { port: file.http.port } }),
    profilesDir: context.profilesDir,
    defaults,
    buses: file.buses.map((b) => resolveBus(b, defaults.timeoutMs, context.busPasswords?.get(b.id))),
    devices: file.devices.map((dev) => resolveDevice(dev, defaults.pollMs, context.profiles?.get(dev.profile))),
  }
}

function resolveBus(b: BusFile, timeoutMs: number, password: Secret | undefined): BusConfig {
  if (b.type === 'opcua') {
    const o = DEFAULTS.opcua
    return {
      id: b.id,
      type: 'opcua',
      endpoint: b.endpoint,
      securityMode: b.securityMode ?? o.securityMode,
      securityPolicy: b.securityPolicy ?? o.securityPolicy,
      ...(b.username !== undefined && { username: b.username }),
      ...(b.passwordEnv !== undefined && { passwordEnv: b.passwordEnv }),
      ...(password !== undefined && { password }),
      mode: b.mode ?? o.mode,
      samplingMs: b.samplingMs ?? o.samplingMs,
      timeoutMs: b.timeoutMs ?? o.timeoutMs,
      ...(b.description !== undefined && { description: b.description }),
    }
  }
  const common = { id: b.id, timeoutMs: b.timeoutMs ?? timeoutMs, ...(b.description !== undefined && { description: b.description }) }
  if (b.type === 'tcp') return { ...common, type: 'tcp', host: b.host, port: b.port, concurrency: b.concurrency ?? DEFAULTS.concurrency }
  return {
    ...common,
    type: 'rtu',
    path: b.path,
    baud: b.baud,
    parity: b.parity,
    dataBits: DEFAULTS.dataBits,
    stopBits: b.stopBits,
    interFrameMs: b.interFrameMs ?? interFrameMs(b.baud),
  }
}

function resolveDevice(d: DeviceFile, poll: PollIntervals, profile: ProfileFacts | undefined): DeviceConfig {
  const heartbeatS = d.heartbeatS ?? profile?.heartbeatS
  return {
    id: d.id,
    bus: d.bus,
    ...(d.unit !== undefined && { unit: d.unit }),
    profile: d.profile,
    nodes: { ...d.nodes },
    ...(d.name !== undefined && { name: d.name }),
    enabled: d.enabled ?? true,
    poll: d.pollMs !== undefined ? { fast: d.pollMs, slow: d.pollMs } : { fast: d.poll?.fast ?? poll.fast, slow: d.poll?.slow ?? poll.slow },
    ...(d.location !== undefined && { location: { lat: d.location.lat, lon: d.location.lon } }),
    ...(d.asset !== undefined && { asset: d.asset }),
    deadband: { ...d.deadband },
    ...(heartbeatS !== undefined && { heartbeatS }),
    ...(d.description !== undefined && { description: d.description }),
  }
}
