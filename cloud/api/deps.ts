/**
 * What the API needs from the rest of the cloud: read views only (it never writes
 * telemetry or the registry), the token store, and two callbacks for health and metrics.
 */
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
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
}

/** The Fastify instance the routes are registered on: TypeBox types the handlers. */
export type ApiInstance = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>
