/**
 * The cloud config: a YAML file, every field optional, validated with
 * `file:line:column: field: reason` errors. With no file, the embedded defaults run:
 * Aedes on 127.0.0.1:1883, SQLite storage under `dataDir`, the API on 127.0.0.1:8080.
 *
 * Secrets are never written in the file: `passwordEnv` / `tokenEnv` name environment
 * variables. `MUNI_INFLUX_URL` (and `MUNI_INFLUX_DB`, `MUNI_INFLUX_USER`,
 * `MUNI_INFLUX_PASSWORD`; or for 2.x `MUNI_INFLUX_ORG`, `MUNI_INFLUX_BUCKET`,
 * `MUNI_INFLUX_TOKEN`) switches storage to InfluxDB without a file.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import Type, { type Static } from 'typebox'
import { Compile, type Validator } from 'typebox/compile'
import { schemaErrors, toViolations, capViolations } from '../../shared/schema/violations.ts'
import { compareIssues, type SourceIssue } from '../../shared/yaml/issue.ts'
import type { PathSegment } from '../../shared/yaml/positions.ts'
import { issueAt, readYamlText, violationIssues } from '../../shared/yaml/source.ts'

const Port = Type.Integer({ minimum: 0, maximum: 65535 })
const Host = Type.String({ minLength: 1, maxLength: 255 })
const EnvName = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'name of an environment variable that holds the secret' })

const EmbeddedBroker = Type.Object(
  {
    mode: Type.Literal('embedded'),
    host: Type.Optional(Host),
    port: Type.Optional(Port),
    credentials: Type.Optional(Type.String({ minLength: 1, description: 'YAML credentials file (muni cloud hash-password)' })),
    allowAnonymous: Type.Optional(Type.Boolean({ description: 'development only: any client, full access' })),
    tls: Type.Optional(Type.Object({ port: Port, key: Type.String({ minLength: 1 }), cert: Type.String({ minLength: 1 }) }, { additionalProperties: false })),
    ws: Type.Optional(Type.Object({ port: Port }, { additionalProperties: false })),
  },
  { additionalProperties: false },
)

const ExternalBroker = Type.Object(
  {
    mode: Type.Literal('external'),
    url: Type.String({ pattern: '^(mqtts?|wss?)://', description: 'mqtt://, mqtts://, ws:// or wss:// URL' }),
    username: Type.Optional(Type.String({ minLength: 1 })),
    passwordEnv: Type.Optional(EnvName),
    ca: Type.Optional(Type.String({ minLength: 1 })),
    clientId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,48}$' })),
    group: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,48}$' })),
    connections: Type.Optional(Type.Integer({ minimum: 1, maximum: 32 })),
  },
  { additionalProperties: false },
)

const Storage = Type.Union([
  Type.Object({ kind: Type.Literal('sqlite'), path: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('influxdb1'),
      url: Type.String({ pattern: '^https?://' }),
      database: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      username: Type.Optional(Type.String({ minLength: 1 })),
      passwordEnv: Type.Optional(EnvName),
      retention: Type.Optional(Type.String({ pattern: '^(INF|[0-9]+[hdw])$', description: 'raw data retention, e.g. 30d' })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('influxdb2'),
      url: Type.String({ pattern: '^https?://' }),
      org: Type.String({ minLength: 1 }),
      bucket: Type.String({ minLength: 1 }),
      tokenEnv: EnvName,
    },
    { additionalProperties: false },
  ),
])

const Webhook = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$', description: 'a name for logs and metrics' }),
    url: Type.String({ pattern: '^https?://', description: 'where transitions are POSTed' }),
    secretEnv: EnvName,
    minSeverity: Type.Optional(Type.Union(['critical', 'major', 'minor', 'warning', 'indeterminate'].map((s) => Type.Literal(s)))),
    sites: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
  },
  { additionalProperties: false },
)

const Alarms = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean({ description: 'evaluate alarms (default true)' })),
    rules: Type.Optional(Type.String({ minLength: 1, description: 'rules file: defaults per kind and overrides per site, asset, device' })),
    profiles: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'profile folders whose alarm hints are the defaults (default: the shipped profiles)' })),
    tickS: Type.Optional(Type.Number({ minimum: 0.05, maximum: 60, description: 'how often delays, stale data and shelving expiry are checked (default 1)' })),
    webhooks: Type.Optional(Type.Array(Webhook)),
  },
  { additionalProperties: false },
)

export const CloudConfigSchema = Type.Object(
  {
    dataDir: Type.Optional(Type.String({ minLength: 1, description: 'state, embedded storage and broker sessions (default ./muni-data)' })),
    broker: Type.Optional(Type.Union([EmbeddedBroker, ExternalBroker])),
    storage: Type.Optional(Storage),
    api: Type.Optional(Type.Object({ host: Type.Optional(Host), port: Type.Optional(Port) }, { additionalProperties: false })),
    ingest: Type.Optional(
      Type.Object(
        {
          batchReadings: Type.Optional(Type.Integer({ minimum: 1, maximum: 50_000 })),
          maxPendingReadings: Type.Optional(Type.Integer({ minimum: 1000, maximum: 10_000_000 })),
          maxFutureS: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
        },
        { additionalProperties: false },
      ),
    ),
    alarms: Type.Optional(Alarms),
  },
  { additionalProperties: false },
)
export type CloudConfigFile = Static<typeof CloudConfigSchema>

/** Storage as the service opens it: secrets resolved, paths absolute. */
export type StorageConfig =
  | { kind: 'sqlite'; path: string }
  | { kind: 'influxdb1'; url: string; database: string; username?: string; password?: string; retention?: string }
  | { kind: 'influxdb2'; url: string; org: string; bucket: string; token: string }

export type BrokerConfig =
  | { mode: 'embedded'; host: string; port: number; credentials?: string; allowAnonymous: boolean; tls?: { port: number; key: string; cert: string }; ws?: { port: number } }
  | { mode: 'external'; url: string; username?: string; password?: string; ca?: string; clientId: string; group: string; connections: number }

/** The config the service runs on. */
export interface CloudConfig {
  dataDir: string
  broker: BrokerConfig
  storage: StorageConfig
  api: { host: string; port: number }
  ingest: { batchReadings: number; maxPendingReadings: number; maxFutureMs: number }
  /** Default (absent): `DEFAULT_ALARMS`, alarms on with the shipped profiles' hints. */
  alarms?: AlarmsConfig
}

export interface WebhookConfig {
  name: string
  url: string
  /** Resolved from `secretEnv`; never logged. */
  secret: string
  minSeverity?: 'critical' | 'major' | 'minor' | 'warning' | 'indeterminate'
  sites?: string[]
}

export const DEFAULT_ALARMS: AlarmsConfig = { enabled: true, tickMs: 1000, webhooks: [] }

export interface AlarmsConfig {
  enabled: boolean
  /** Absolute path of the rules file, when configured. */
  rulesFile?: string
  /** Absolute profile folders; undefined: the shipped profiles. */
  profileDirs?: string[]
  tickMs: number
  webhooks: WebhookConfig[]
}

const validator = Compile(CloudConfigSchema) as Validator
type Env = Readonly<Record<string, string | undefined>>

export interface LoadedCloudConfig {
  config?: CloudConfig
  issues: SourceIssue[]
}

/** Reads and validates a cloud config file; without `file`, the defaults (plus environment). */
export function loadCloudConfig(file: string | undefined, env: Env = process.env): LoadedCloudConfig {
  if (file === undefined) return resolveCloudConfig({}, process.cwd(), env, undefined)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return { issues: [{ file, line: 0, column: 0, field: '', reason: code === 'ENOENT' ? 'no such file' : `cannot read: ${(err as Error).message}` }] }
  }
  const src = readYamlText(text, file, { plainYaml: 'cloud configs' })
  if (src.issues.length > 0) return { issues: src.issues }
  const value = src.value ?? {}
  const violations = capViolations(toViolations(schemaErrors(validator, value)))
  if (violations.length > 0) return { issues: violationIssues(src, violations).sort(compareIssues) }
  return resolveCloudConfig(value as CloudConfigFile, dirname(resolve(file)), env, (path, reason) => issueAt(src, path, 'value', reason))
}

function resolveCloudConfig(
  f: CloudConfigFile,
  baseDir: string,
  env: Env,
  at: ((path: PathSegment[], reason: string) => SourceIssue) | undefined,
): LoadedCloudConfig {
  const issues: SourceIssue[] = []
  const problem = (path: PathSegment[], reason: string): void => {
    issues.push(at ? at(path, reason) : { file: '(environment)', line: 0, column: 0, field: path.join('.'), reason })
  }
  const secret = (path: PathSegment[], name: string | undefined): string | undefined => {
    if (name === undefined) return undefined
    const v = env[name]
    if (v === undefined || v === '') problem(path, `environment variable ${name} is not set`)
    return v
  }
  const dataDir = resolve(baseDir, f.dataDir ?? 'muni-data')
  const b = f.broker ?? { mode: 'embedded' as const }
  const broker: BrokerConfig =
    b.mode === 'embedded'
      ? {
          mode: 'embedded',
          host: b.host ?? '127.0.0.1',
          port: b.port ?? 1883,
          allowAnonymous: b.allowAnonymous ?? false,
          ...(b.credentials !== undefined ? { credentials: resolve(baseDir, b.credentials) } : {}),
          ...(b.tls !== undefined ? { tls: { port: b.tls.port, key: resolve(baseDir, b.tls.key), cert: resolve(baseDir, b.tls.cert) } } : {}),
          ...(b.ws !== undefined ? { ws: b.ws } : {}),
        }
      : {
          mode: 'external',
          url: b.url,
          clientId: b.clientId ?? 'muni-cloud',
          group: b.group ?? 'muni-ingest',
          connections: b.connections ?? 2,
          ...(b.username !== undefined ? { username: b.username } : {}),
          ...(b.ca !== undefined ? { ca: resolve(baseDir, b.ca) } : {}),
          ...optional('password', secret(['broker', 'passwordEnv'], b.passwordEnv)),
        }
  if (broker.mode === 'embedded' && broker.credentials === undefined && !broker.allowAnonymous) {
    problem(['broker'], 'the embedded broker needs a credentials file (broker.credentials) or, for development only, allowAnonymous: true')
  }
  let storage: StorageConfig
  const s = f.storage
  if (s === undefined && env.MUNI_INFLUX_URL) {
    storage = env.MUNI_INFLUX_TOKEN
      ? { kind: 'influxdb2', url: env.MUNI_INFLUX_URL, org: env.MUNI_INFLUX_ORG ?? 'muni', bucket: env.MUNI_INFLUX_BUCKET ?? 'muni', token: env.MUNI_INFLUX_TOKEN }
      : {
          kind: 'influxdb1',
          url: env.MUNI_INFLUX_URL,
          database: env.MUNI_INFLUX_DB ?? 'muni',
          ...optional('username', env.MUNI_INFLUX_USER),
          ...optional('password', env.MUNI_INFLUX_PASSWORD),
        }
  } else if (s === undefined || s.kind === 'sqlite') {
    storage = { kind: 'sqlite', path: resolve(dataDir, s?.path ?? 'telemetry.sqlite') }
  } else if (s.kind === 'influxdb1') {
    storage = {
      kind: 'influxdb1',
      url: s.url,
      database: s.database ?? 'muni',
      ...optional('username', s.username),
      ...optional('password', secret(['storage', 'passwordEnv'], s.passwordEnv)),
      ...optional('retention', s.retention),
    }
  } else {
    storage = { kind: 'influxdb2', url: s.url, org: s.org, bucket: s.bucket, token: secret(['storage', 'tokenEnv'], s.tokenEnv) ?? '' }
  }
  const a = f.alarms ?? {}
  const webhooks: WebhookConfig[] = (a.webhooks ?? []).map((w, i) => ({
    name: w.name,
    url: w.url,
    secret: secret(['alarms', 'webhooks', i, 'secretEnv'], w.secretEnv) ?? '',
    ...(w.minSeverity !== undefined ? { minSeverity: w.minSeverity as NonNullable<WebhookConfig['minSeverity']> } : {}),
    ...(w.sites !== undefined ? { sites: w.sites } : {}),
  }))
  const names = new Set<string>()
  webhooks.forEach((w, i) => {
    if (w.secret !== '' && w.secret.length < 16) problem(['alarms', 'webhooks', i, 'secretEnv'], `the secret in ${(a.webhooks ?? [])[i]?.secretEnv} is shorter than 16 characters`)
    if (names.has(w.name)) problem(['alarms', 'webhooks', i, 'name'], `duplicate webhook name ${w.name}`)
    names.add(w.name)
  })
  const alarms: AlarmsConfig = {
    enabled: a.enabled ?? true,
    ...(a.rules !== undefined ? { rulesFile: resolve(baseDir, a.rules) } : {}),
    ...(a.profiles !== undefined ? { profileDirs: a.profiles.map((p) => resolve(baseDir, p)) } : {}),
    tickMs: Math.round((a.tickS ?? 1) * 1000),
    webhooks,
  }
  if (issues.length > 0) return { issues }
  return {
    config: {
      alarms,
      dataDir,
      broker,
      storage,
      api: { host: f.api?.host ?? '127.0.0.1', port: f.api?.port ?? 8080 },
      ingest: {
        batchReadings: f.ingest?.batchReadings ?? 5000,
        maxPendingReadings: f.ingest?.maxPendingReadings ?? 50_000,
        maxFutureMs: (f.ingest?.maxFutureS ?? 600) * 1000,
      },
    },
    issues: [],
  }
}

function optional<K extends string>(k: K, v: string | undefined): { [P in K]?: string } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: string }
}
