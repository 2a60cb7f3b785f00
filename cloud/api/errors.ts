/**
 * The API's error codes (one registry, stable codes, @fastify/error) and how every error
 * becomes a `{ statusCode, error, message }` body: 4xx say exactly which field and why,
 * 5xx never show internals.
 */
import createError from '@fastify/error'
import type { FastifyError, FastifyInstance, FastifySchemaValidationError } from 'fastify'
import { STATUS_CODES } from 'node:http'

/** Where a request value came from, as Fastify names it in validation errors. */
export type RequestPart = 'body' | 'headers' | 'params' | 'querystring'

export const ApiErrors = {
  /** 400: a parameter is well-formed by the schema but wrong, e.g. `querystring/from: must be before to`. */
  BAD_REQUEST: createError<'API_BAD_REQUEST', 400, [string]>('API_BAD_REQUEST', '%s', 400),
  /** 401: no Authorization header. */
  NO_TOKEN: createError<'API_NO_TOKEN', 401, [string]>('API_NO_TOKEN', '%s', 401),
  /** 401: a malformed Authorization header, or an unknown or revoked token. */
  INVALID_TOKEN: createError<'API_INVALID_TOKEN', 401, [string]>('API_INVALID_TOKEN', '%s', 401),
  /** 403: the token's role is too weak for the route. */
  FORBIDDEN: createError<'API_FORBIDDEN', 403, [string]>('API_FORBIDDEN', '%s', 403),
  /** 404: an unknown site, gateway, device, token or route. */
  NOT_FOUND: createError<'API_NOT_FOUND', 404, [string]>('API_NOT_FOUND', '%s', 404),
  /** 409: the request is valid but the resource's state refuses it, e.g. acknowledging an alarm already acknowledged. */
  CONFLICT: createError<'API_CONFLICT', 409, [string]>('API_CONFLICT', '%s', 409),
  /**
   * 503: a part the route needs is not configured in this service (e.g. no alarm engine).
   * The only 5xx whose message is shown: it is written for the caller, never an internal error.
   */
  UNAVAILABLE: createError<'API_UNAVAILABLE', 503, [string]>('API_UNAVAILABLE', '%s', 503),
} as const

/** 5xx codes whose message is meant for the caller (every other 5xx says "internal error"). */
const EXPOSED_5XX = new Set(['API_UNAVAILABLE'])

/** `querystring/from: must be before to` */
export const badField = (part: RequestPart, field: string, reason: string) => ApiErrors.BAD_REQUEST(`${part}/${field}: ${reason}`)

/**
 * Fastify's schema error formatter for TypeBox's (Ajv-shaped) errors: one `part/field:
 * reason` per problem, joined with `; `. Required and unknown fields are named one by one,
 * and the `schema is false` twin of an `additionalProperties` error is dropped.
 */
export function formatSchemaErrors(errors: FastifySchemaValidationError[], dataVar: RequestPart): Error {
  const lines: string[] = []
  for (const e of errors) {
    const params = (e.params ?? {}) as Record<string, unknown>
    const at = `${dataVar}${e.instancePath}`
    if (e.keyword === 'required' && Array.isArray(params.requiredProperties)) {
      for (const p of params.requiredProperties) lines.push(`${at}/${String(p)}: is required`)
    } else if (e.keyword === 'additionalProperties' && Array.isArray(params.additionalProperties)) {
      for (const p of params.additionalProperties) lines.push(`${at}/${String(p)}: is not a known field`)
    } else if (e.keyword === 'boolean' && e.message === 'schema is false') {
      continue
    } else if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) {
      lines.push(`${at}: must be one of ${params.allowedValues.map(String).join(', ')}`)
    } else {
      lines.push(`${at}: ${e.message ?? e.keyword}`)
    }
  }
  const message = [...new Set(lines)].join('; ') || `${dataVar}: invalid`
  return Object.assign(ApiErrors.BAD_REQUEST(message), { validation: errors, validationContext: dataVar })
}

/** The body of every error response. */
export interface ErrorBody {
  statusCode: number
  error: string
  message: string
  code?: string
}

/** Installs the error and not-found handlers that give every failure the `ErrorBody` shape. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const statusCode = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
    if (statusCode >= 500 && EXPOSED_5XX.has(err.code)) {
      return reply.status(statusCode).send({ statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message: err.message, code: err.code })
    }
    if (statusCode >= 500) {
      request.log.error({ err }, 'request failed')
      return reply.status(statusCode).send({ statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message: 'internal error; see the server log' })
    }
    if (statusCode === 401) reply.header('www-authenticate', wwwAuthenticate(err.code))
    const body: ErrorBody = { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message: err.message }
    if (typeof err.code === 'string') body.code = err.code
    return reply.status(statusCode).send(body)
  })
  app.setNotFoundHandler((request, reply) => {
    const statusCode = 404
    const body: ErrorBody = { statusCode, error: 'Not Found', message: `route ${request.method} ${request.url.split('?')[0] ?? ''} not found`, code: 'API_NOT_FOUND' }
    return reply.status(statusCode).send(body)
  })
}

/**
 * RFC 6750 §3: `Bearer` with a realm; `error="invalid_token"` only when a token was sent
 * (a request without credentials gets no error code, §3.1).
 */
function wwwAuthenticate(code: string | undefined): string {
  return code === 'API_NO_TOKEN' ? 'Bearer realm="muni-iot"' : 'Bearer realm="muni-iot", error="invalid_token"'
}
