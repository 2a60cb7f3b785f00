/**
 * Bearer-token authentication (RFC 6750 §2.1) and role checks. A route declares the
 * weakest role it needs in `config.role`; `/health` and the not-found handler are public.
 * The check runs in `onRequest`, before validation, so an unauthenticated caller learns
 * nothing from parameter errors.
 *
 * The API documentation (`/docs`, its OpenAPI JSON and Swagger UI's files) needs a viewer
 * token too. A browser cannot add a header to a page it opens, so there the token may also
 * come as `?access_token=` (RFC 6750 §2.3) — the answer then sets it as an HttpOnly,
 * SameSite=Strict cookie limited to `/docs`, which carries it to the UI's own requests.
 * A route may accept `?access_token=` too (`config.queryToken`: the SSE stream, as
 * EventSource sends no headers); the URL's token is redacted from logs (index.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ApiErrors } from './errors.ts'
import { type Principal, type Role, type TokenStore, roleAtLeast } from './tokens.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The weakest role that may call the route; absent for public routes. */
    role?: Role
    /**
     * The token may also come as `?access_token=` (RFC 6750 §2.3), for a browser's
     * EventSource, which cannot send headers. The header wins when both are given.
     */
    queryToken?: boolean
  }
  interface FastifyRequest {
    /** The verified token's owner, on routes that need one. */
    principal: Principal | null
  }
}

const BEARER_RE = /^Bearer +(\S+) *$/i

/** Verifies the token of `request` against the route's role; throws 401/403 errors. */
export function authenticate(tokens: TokenStore, request: FastifyRequest, needed: Role, alternative?: { token: string; from: string }): Principal {
  const header = request.headers.authorization
  let token: string
  let from = 'headers/authorization'
  if ((header === undefined || header === '') && alternative !== undefined) {
    token = alternative.token
    from = alternative.from
  } else {
    if (header === undefined || header === '') {
      throw ApiErrors.NO_TOKEN(`missing token: this route needs "Authorization: Bearer <token>" with role ${needed} or higher`)
    }
    const m = BEARER_RE.exec(header)
    if (m === null || m[1] === undefined) throw ApiErrors.INVALID_TOKEN('headers/authorization: must be "Bearer <token>"')
    token = m[1]
  }
  const principal = tokens.verify(token)
  if (principal === undefined) throw ApiErrors.INVALID_TOKEN(`${from}: unknown or revoked token`)
  if (!roleAtLeast(principal.role, needed)) {
    throw ApiErrors.FORBIDDEN(`this route needs role ${needed} or higher; token "${principal.name}" has role ${principal.role}`)
  }
  return principal
}

/** The cookie that carries a docs token; limited to the docs path. */
export const DOCS_COOKIE = 'muni_docs_token'

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=')
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim())
  }
  return undefined
}

/** Adds `request.principal` and the hook that enforces each route's `config.role` (and the docs' viewer role). */
export function installAuth(app: FastifyInstance, tokens: TokenStore, docsPrefix: string): void {
  app.decorateRequest('principal', null)
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? ''
    if (path === docsPrefix || path.startsWith(`${docsPrefix}/`)) {
      const query = new URLSearchParams(request.url.slice(path.length + 1)).get('access_token') ?? undefined
      const fromCookie = cookie(request.headers.cookie, DOCS_COOKIE)
      const alternative = query !== undefined ? { token: query, from: 'querystring/access_token' } : fromCookie !== undefined ? { token: fromCookie, from: `cookie ${DOCS_COOKIE}` } : undefined
      request.principal = authenticate(tokens, request, 'viewer', alternative)
      if (query !== undefined) {
        void reply.header('set-cookie', `${DOCS_COOKIE}=${encodeURIComponent(query)}; Path=${docsPrefix}; HttpOnly; SameSite=Strict`)
        void reply.header('cache-control', 'no-store')
      }
      return
    }
    const { role: needed, queryToken } = request.routeOptions.config
    if (needed === undefined) return
    const query = queryToken === true ? (new URLSearchParams(request.url.slice(path.length + 1)).get('access_token') ?? undefined) : undefined
    request.principal = authenticate(tokens, request, needed, query !== undefined ? { token: query, from: 'querystring/access_token' } : undefined)
  })
}
