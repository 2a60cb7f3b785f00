/**
 * `GET /health` (public, for load balancers and the service's own check) and
 * `GET /metrics` (viewer; Prometheus text).
 */
import Type from 'typebox'
import type { ApiDeps, ApiInstance, HealthReport } from '../deps.ts'
import type { HttpMetrics } from '../metrics.ts'
import { errorResponses } from '../schemas.ts'

const HealthSchema = Type.Object({
  status: Type.Enum(['ok', 'degraded']),
  checks: Type.Record(Type.String(), Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.String()) })),
})

export function registerSystemRoutes(app: ApiInstance, deps: Pick<ApiDeps, 'health' | 'metrics'>, http: HttpMetrics): void {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness and readiness of the cloud service (no token needed)',
        tags: ['system'],
        response: {
          200: { ...HealthSchema, description: 'every check passed' },
          503: { ...HealthSchema, description: 'at least one check failed' },
        },
      },
    },
    async (request, reply) => {
      let report: HealthReport
      try {
        report = deps.health()
      } catch (err) {
        request.log.error({ err }, 'health check threw')
        report = { ok: false, checks: { health: { ok: false, detail: 'the health check itself failed; see the server log' } } }
      }
      return reply.status(report.ok ? 200 : 503).send({ status: report.ok ? 'ok' : 'degraded', checks: report.checks })
    },
  )

  app.get(
    '/metrics',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Prometheus metrics: HTTP requests by route and status, request durations, and the other parts of the service',
        tags: ['system'],
        response: {
          200: {
            description: 'Prometheus text exposition format 0.0.4',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...errorResponses(),
        },
      },
    },
    async (_request, reply) => {
      const extra = deps.metrics()
      const text = http.text() + (extra === '' || extra.endsWith('\n') ? extra : `${extra}\n`)
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(text)
    },
  )
}
