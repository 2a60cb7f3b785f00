/**
 * Bearer-token authentication (RFC 6750 §2.1) and role checks. A route declares the
 * weakest role it needs in `config.role`; a route without one (`/health`, `/docs`, the
 * not-found handler) is public. The check runs in `onRequest`, before validation, so an
 * unauthenticated caller learns nothing from parameter errors.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ApiErrors } from './errors.ts'
import { type Principal, type Role, type TokenStore, roleAtLeast } from './tokens.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The weakest role that may call the route; absent for public routes. */
    role?: Role
  }
  interface FastifyRequest {
    /** The verified token's owner, on routes that need one. */
    principal: Principal | null
  }
}

const BEARER_RE = /^Bearer +(\S+) *$/i

/** Verifies the token of `request` against the route's role; throws 401/403 errors. */
export function authenticate(tokens: TokenStore, request: FastifyRequest, needed: Role): Principal {
  const header = request.headers.authorization
  if (header === undefined || header === '') {
    throw ApiErrors.NO_TOKEN(`missing token: this route needs "Authorization: Bearer <token>" with role ${needed} or higher`)
  }
  const m = BEARER_RE.exec(header)
  if (m === null || m[1] === undefined) throw ApiErrors.INVALID_TOKEN('headers/authorization: must be "Bearer <token>"')
  const principal = tokens.verify(m[1])
  if (principal === undefined) throw ApiErrors.INVALID_TOKEN('headers/authorization: unknown or revoked token')
  if (!roleAtLeast(principal.role, needed)) {
    throw ApiErrors.FORBIDDEN(`this route needs role ${needed} or higher; token "${principal.name}" has role ${principal.role}`)
  }
  return principal
}

/** Adds `request.principal` and the hook that enforces each route's `config.role`. */
export function installAuth(app: FastifyInstance, tokens: TokenStore): void {
  app.decorateRequest('principal', null)
  app.addHook('onRequest', async (request) => {
    const needed = request.routeOptions.config.role
    if (needed === undefined) return
    request.principal = authenticate(tokens, request, needed)
  })
}
