/**
 * `GET /api/v1/dead-letters` and `/stats` (engineer): the messages ingest refused, with
 * their reasons, newest first, paged by id.
 */
import Type from 'typebox'
import type { DeadLetterView } from '../../model.ts'
import type { ApiInstance } from '../deps.ts'
import { DeadLetterSchema, errorResponses } from '../schemas.ts'

export const DEAD_LETTER_PAGE = { default: 100, max: 1000 } as const

export function registerDeadLetterRoutes(app: ApiInstance, deadLetters: DeadLetterView): void {
  app.get(
    '/api/v1/dead-letters',
    {
      config: { role: 'engineer' },
      schema: {
        summary: 'Messages ingest refused, newest first',
        tags: ['dead-letters'],
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: DEAD_LETTER_PAGE.max, description: `default ${DEAD_LETTER_PAGE.default}` })),
            before: Type.Optional(Type.Integer({ minimum: 1, description: 'only entries with a smaller id: the nextBefore of the previous page' })),
            reason: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'only this reason, e.g. invalid' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(DeadLetterSchema),
            total: Type.Integer({ minimum: 0, description: 'dead letters kept, all reasons' }),
            nextBefore: Type.Optional(Type.Integer({ description: 'pass as before for the next page; absent on the last page' })),
          }),
          ...errorResponses(400),
        },
      },
    },
    async (request) => {
      const { limit = DEAD_LETTER_PAGE.default, before, reason } = request.query
      const q: { limit: number; before?: number; reason?: string } = { limit }
      if (before !== undefined) q.before = before
      if (reason !== undefined) q.reason = reason
      const items = deadLetters.list(q).slice(0, limit)
      const last = items.at(-1)
      return { items, total: deadLetters.count(), ...(items.length === limit && last !== undefined ? { nextBefore: last.id } : {}) }
    },
  )

  app.get(
    '/api/v1/dead-letters/stats',
    {
      config: { role: 'engineer' },
      schema: {
        summary: 'Dead-letter counts by reason',
        tags: ['dead-letters'],
        response: {
          200: Type.Object({ total: Type.Integer({ minimum: 0 }), byReason: Type.Record(Type.String(), Type.Integer({ minimum: 0 })) }),
          ...errorResponses(),
        },
      },
    },
    async () => ({ total: deadLetters.count(), byReason: deadLetters.countByReason() }),
  )
}
