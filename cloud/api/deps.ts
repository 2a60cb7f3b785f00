/**
 * What the API needs from the rest of the cloud: read views (it never writes telemetry
 * or the registry), the token store, two callbacks for health and metrics, and — when
 * the service runs them — the alarm engine's operator methods and the live feed.
 */
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { AlarmEngine } from '../alarms/engine.ts'
import type { LiveFeed } from '../alarms/feed.ts'
import type { DeadLetterView, RegistryView, TelemetryStore } from '../model.ts'
import type { TokenStore } from './tokens.ts'

export interface HealthCheck {
  ok: boolean
  detail?: string
}

export interface HealthReport {
  ok: boolean
  checks: Record<string, HealthCheck>
}

/** The alarm engine methods the API calls (an `AlarmEngine` fits). */
export type AlarmApi = Pick<
  AlarmEngine,
  'list' | 'get' | 'history' | 'transitions' | 'ack' | 'comment' | 'shelve' | 'unshelve' | 'setMaintenance' | 'maintenance'
>

/** Tuning of `GET /api/v1/stream` (Server-Sent Events); the defaults suit production. */
export interface StreamOptions {
  /** A comment line this often keeps proxies from closing an idle stream (default 15 000 ms). */
  heartbeatMs?: number
  /** The `retry:` hint: how long a browser waits before reconnecting (default 3000 ms). */
  retryMs?: number
  /** A client whose unsent bytes pass this is disconnected (default 1 MiB). */
  maxBufferedBytes?: number
  /** At most this many transitions replayed on resume; past it the stream sends `reset` (default 10 000). */
  maxReplay?: number
  /** Transitions read from the log at a time while replaying (default 500). */
  replayPage?: number
}

export interface ApiDeps {
  registry: RegistryView
  telemetry: Pick<TelemetryStore, 'query'>
  deadLetters: DeadLetterView
  tokens: TokenStore
  health: () => HealthReport
  /** More Prometheus text from other parts (broker, ingest, storage), appended to the API's own. */
  metrics: () => string
  /**
   * Fastify's `logger` option (pino options, e.g. `{ level: 'info', stream }`), or a
   * boolean. The Authorization header is always redacted.
   */
  logger?: boolean | object
  /** The clock, ms; injectable for tests of the telemetry range defaults. */
  now?: () => number
  /** The alarm engine (started). Absent: the alarm and maintenance routes answer 503. */
  alarms?: AlarmApi
  /** The live feed of alarm transitions and registry changes. Absent: the stream answers 503. */
  live?: LiveFeed
  stream?: StreamOptions
}

/** The Fastify instance the routes are registered on: TypeBox types the handlers. */
export type ApiInstance = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>
