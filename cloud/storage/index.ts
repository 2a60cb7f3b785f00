/**
 * Telemetry storage: pick a backend by config. `TelemetryStoreConfigSchema` is what the
 * cloud config validates; `openTelemetryStore` opens the chosen store.
 */
import Type, { type Static } from 'typebox'
import type { TelemetryStore } from '../model.ts'
import { INFLUX_DURATION_PATTERN, openInfluxDb1Store } from './influxdb1.ts'
import { openInfluxDb2Store } from './influxdb2.ts'
import { openSqliteStore } from './sqlite.ts'

const Url = Type.String({ pattern: '^https?://[^/@\\s]+(/.*)?$', description: 'http(s) base URL, without credentials in it' })

/** The embedded default: one SQLite file. */
export const SqliteStoreConfigSchema = Type.Object(
  {
    kind: Type.Literal('sqlite'),
    path: Type.String({ minLength: 1, description: 'database file (`:memory:` for tests)' }),
    synchronous: Type.Optional(
      Type.Union([Type.Literal('full'), Type.Literal('normal')], {
        description: 'full (default) survives power loss; normal survives a process crash only',
      }),
    ),
  },
  { additionalProperties: false },
)

/** InfluxDB 1.x. */
export const InfluxDb1StoreConfigSchema = Type.Object(
  {
    kind: Type.Literal('influxdb1'),
    url: Url,
    database: Type.String({ minLength: 1, maxLength: 64 }),
    username: Type.Optional(Type.String({ minLength: 1 })),
    password: Type.Optional(Type.String()),
    retention: Type.Optional(Type.String({ pattern: INFLUX_DURATION_PATTERN, description: 'how long raw readings are kept, default 30d' })),
    rollupRetention: Type.Optional(Type.String({ pattern: INFLUX_DURATION_PATTERN, description: 'how long 1-minute rollups are kept, default 52w' })),
  },
  { additionalProperties: false },
)

/** InfluxDB 2.x/3.x (write path tested; Flux queries untested here, see README.md). */
export const InfluxDb2StoreConfigSchema = Type.Object(
  {
    kind: Type.Literal('influxdb2'),
    url: Url,
    org: Type.String({ minLength: 1 }),
    bucket: Type.String({ minLength: 1 }),
    token: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
)

/** Which telemetry store to open, discriminated on `kind`. */
export const TelemetryStoreConfigSchema = Type.Union([SqliteStoreConfigSchema, InfluxDb1StoreConfigSchema, InfluxDb2StoreConfigSchema])
/** Which telemetry store to open. */
export type TelemetryStoreConfig = Static<typeof TelemetryStoreConfigSchema>

/** Opens the store the config names (InfluxDB 1.x: also creates its database, RPs and CQ). */
export async function openTelemetryStore(config: TelemetryStoreConfig): Promise<TelemetryStore> {
  switch (config.kind) {
    case 'sqlite':
      return openSqliteStore(config.path, config.synchronous === undefined ? {} : { synchronous: config.synchronous })
    case 'influxdb1':
      return openInfluxDb1Store(config)
    case 'influxdb2':
      return openInfluxDb2Store(config)
  }
}

export { openSqliteStore } from './sqlite.ts'
export { openInfluxDb1Store, toLineProtocol, InfluxWriteError } from './influxdb1.ts'
export { openInfluxDb2Store } from './influxdb2.ts'
