/**
 * `/api/v1/tokens` (admin): list, create (the token is in this one answer only) and
 * revoke API tokens.
 */
import Type from 'typebox'
import type { ApiInstance } from '../deps.ts'
import { ApiErrors } from '../errors.ts'
import { RoleSchema, TokenInfoSchema, errorResponses } from '../schemas.ts'
import type { TokenStore } from '../tokens.ts'

export function registerTokenRoutes(app: ApiInstance, tokens: TokenStore): void {
  app.get(
    '/api/v1/tokens',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Every API token, active and revoked (never the token itself)',
        tags: ['tokens'],
        response: { 200: Type.Object({ tokens: Type.Array(TokenInfoSchema) }), ...errorResponses() },
      },
    },
    async () => ({ tokens: tokens.list() }),
  )

  app.post(
    '/api/v1/tokens',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Create a token; the answer is the only place it is ever shown',
        tags: ['tokens'],
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\x00-\\x1f\\x7f]*$', description: 'who or what uses it, e.g. scada-north' }),
            role: RoleSchema,
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            id: Type.String(),
            name: Type.String(),
            role: RoleSchema,
            token: Type.String({ description: 'send as "Authorization: Bearer <token>"; store it now, it cannot be shown again' }),
          }),
          ...errorResponses(400),
        },
      },
    },
    async (request, reply) => {
      const { name, role } = request.body
      const { id, token } = tokens.create(name, role)
      request.log.info({ tokenId: id, role, by: request.principal?.id }, 'token created')
      // RFC 6749 §5.1: a response carrying a credential must not be cached.
      return reply.status(201).header('cache-control', 'no-store').send({ id, name, role, token })
    },
  )

  app.delete(
    '/api/v1/tokens/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Revoke a token: it stops working at once; it stays listed with revokedAt',
        tags: ['tokens'],
        params: Type.Object({ id: Type.String({ pattern: '^tok_[A-Za-z0-9_-]{1,64}$', description: 'token id' }) }),
        response: { 200: TokenInfoSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { id } = request.params
      if (!tokens.revoke(id)) {
        const known = tokens.list().find((t) => t.id === id)
        throw ApiErrors.NOT_FOUND(known === undefined ? `token "${id}" not found` : `token "${id}" is already revoked`)
      }
      request.log.info({ tokenId: id, by: request.principal?.id }, 'token revoked')
      const info = tokens.list().find((t) => t.id === id)
      if (info === undefined) throw new Error(`token ${id} vanished after revoke`)
      return info
    },
  )
}
