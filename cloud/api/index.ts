/**
 * The cloud's HTTP API: Fastify 5, TypeBox schemas on every route (validation,
 * serialization, OpenAPI 3.1 at /docs/json, Swagger UI at /docs), bearer tokens with
 * roles, Prometheus metrics. It reads through the `cloud/model.ts` views only.
 */
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance } from 'fastify'
import { installAuth } from './auth.ts'
import type { ApiDeps, ApiInstance } from './deps.ts'
import { formatSchemaErrors, installErrorHandlers } from './errors.ts'
import { HttpMetrics } from './metrics.ts'
import { registerAlarmRoutes } from './routes/alarms.ts'
import { registerDeadLetterRoutes } from './routes/dead-letters.ts'
import { registerMaintenanceRoutes } from './routes/maintenance.ts'
import { registerRegistryRoutes } from './routes/registry.ts'
import { registerStreamRoutes } from './routes/stream.ts'
import { registerSystemRoutes } from './routes/system.ts'
import { registerTelemetryRoutes } from './routes/telemetry.ts'
import { registerTokenRoutes } from './routes/tokens.ts'

export type { AlarmApi, ApiDeps, HealthCheck, HealthReport, StreamOptions } from './deps.ts'
export { openTokenStore, ROLES, type Principal, type Role, type TokenInfo, type TokenStore } from './tokens.ts'

/** The API's version in the OpenAPI document; the path carries its major (`/api/v1`). */
export const API_VERSION = '1.0.0'

/** Where Swagger UI is served; the OpenAPI JSON is at `${DOCS_PREFIX}/json`. */
export const DOCS_PREFIX = '/docs'

/**
 * pino redaction: the bearer token never reaches a log line, whatever serializers a
 * caller configures (Fastify's default request serializer logs no headers at all).
 */
const REDACT = {
  paths: ['req.headers.authorization', 'headers.authorization', 'request.headers.authorization', 'req.headers.cookie', 'headers.cookie', 'request.headers.cookie'],
  censor: '[redacted]',
}

/** A docs token given as `?access_token=` (RFC 6750 §2.3) never reaches a log line either. */
const redactUrl = (url: unknown): unknown => (typeof url === 'string' ? url.replace(/([?&]access_token=)[^&]*/g, '$1[redacted]') : url)

type ReqLike = { method?: string; url?: string; hostname?: string; host?: string; ip?: string; socket?: { remotePort?: number } }

function loggerOption(logger: ApiDeps['logger']): boolean | object {
  if (logger === undefined || logger === false) return false
  const base = logger === true ? {} : (logger as Record<string, unknown>)
  // Keep a caller's own redact paths (pino takes a list or { paths, censor }).
  const theirs = base.redact
  const paths = Array.isArray(theirs) ? theirs : ((theirs as { paths?: string[] } | undefined)?.paths ?? [])
  const serializers = (base.serializers ?? {}) as Record<string, (v: unknown) => unknown>
  const theirReq = serializers.req
  const req = (r: ReqLike): unknown => {
    // Fastify's default request serializer's fields, with the URL's token redacted.
    const out = (theirReq ? theirReq(r) : { method: r.method, url: r.url, host: r.host ?? r.hostname, remoteAddress: r.ip, remotePort: r.socket?.remotePort }) as Record<string, unknown>
    return out && typeof out === 'object' ? { ...out, url: redactUrl(out.url) } : out
  }
  return { ...base, serializers: { ...serializers, req }, redact: { ...REDACT, paths: [...REDACT.paths, ...paths] } }
}

/**
 * Builds the API (not listening). The caller owns `deps` (closing the token store is
 * theirs) and calls `listen` / `close`.
 */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app: ApiInstance = Fastify({
    logger: loggerOption(deps.logger),
    schemaErrorFormatter: formatSchemaErrors,
    // An alarm id is one URL-encoded segment of up to ~230 characters (routes/alarms.ts).
    routerOptions: { maxParamLength: 512 },
    // Query strings are parsed by Fastify's default (node:querystring); ids never need more.
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(TypeBoxValidatorCompiler)

  installErrorHandlers(app)
  installAuth(app, deps.tokens, DOCS_PREFIX)

  const http = new HttpMetrics()
  app.addHook('onResponse', async (request, reply) => {
    http.observe(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000)
  })

  // Before swagger and the routes, so the document marks every route that needs a token.
  app.addHook('onRoute', (route) => {
    const role = route.config?.role
    if (role === undefined || route.schema === undefined) return
    route.schema = {
      ...route.schema,
      security: [{ bearerAuth: [] }],
      description: [route.schema.description, `Needs a token with role ${role} or higher.`].filter(Boolean).join(' '),
    }
  })

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'muni-iot cloud API',
        version: API_VERSION,
        description:
          'Sites, gateways, devices and their telemetry; alarms, maintenance and the live event stream; dead letters; API tokens. Roles: viewer < operator < engineer < admin.',
      },
      tags: [
        { name: 'registry', description: 'sites, gateways, devices' },
        { name: 'telemetry', description: 'device readings over time' },
        { name: 'alarms', description: 'alarms, operator actions, maintenance windows, the live stream (SSE)' },
        { name: 'dead-letters', description: 'messages ingest refused' },
        { name: 'tokens', description: 'API tokens (admin)' },
        { name: 'system', description: 'health and metrics' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'an API token, `muni_…`, created by an admin' },
        },
      },
    },
  })
  // Public, unlike the API: a browser cannot send a bearer token for the page and its
  // assets, and the description holds no data. "Authorize" in the UI takes a token.
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX })

  registerSystemRoutes(app, deps, http)
  registerRegistryRoutes(app, deps.registry)
  registerTelemetryRoutes(app, deps)
  registerAlarmRoutes(app, deps)
  registerMaintenanceRoutes(app, deps)
  registerStreamRoutes(app, deps)
  registerDeadLetterRoutes(app, deps.deadLetters)
  registerTokenRoutes(app, deps.tokens)

  return app
}
