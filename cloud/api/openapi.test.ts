import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, makeFixture } from './test-support/fixture.ts'

let f: Fixture
beforeAll(async () => {
  f = await makeFixture()
  await f.app.ready()
})
afterAll(async () => {
  await f.close()
})

/**
 * Every method + full path Fastify registered, read from its own route tree
 * (`printRoutes({ commonPrefix: false })`), not from a list kept beside the code.
 */
function registeredRoutes(): Array<{ method: string; path: string }> {
  const out: Array<{ method: string; path: string }> = []
  const stack: string[] = []
  for (const line of f.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (m === null) continue
    const depth = (m[1] ?? '').length / 4
    stack.length = depth
    stack.push(m[2] ?? '')
    const path = stack.join('')
    for (const method of (m[3] ?? '').split(', ').filter(Boolean)) out.push({ method, path })
  }
  return out
}

interface Operation {
  security?: unknown
  parameters?: Array<{ in: string; name: string; schema?: unknown }>
  responses: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>
}

describe('OpenAPI at /docs/json', () => {
  it('is OpenAPI 3.1 and lists every registered route (HEAD and /docs aside)', async () => {
    const res = await f.app.inject({ url: '/docs/json', headers: f.auth('viewer') })
    expect(res.statusCode).toBe(200)
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, Operation>> }
    expect(doc.openapi).toBe('3.1.0')

    const routes = registeredRoutes().filter((r) => r.method !== 'HEAD' && !r.path.startsWith('/docs'))
    expect(routes.length).toBe(25) // guards the parser: a silently empty route list would pass the comparison below
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`).sort())
  })

  it('gives every operation a 2xx response schema, error schemas, and its parameters', async () => {
    const doc = (await f.app.inject({ url: '/docs/json', headers: f.auth('viewer') })).json() as { paths: Record<string, Record<string, Operation>> }
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`
        const ok = Object.entries(op.responses).find(([code]) => code.startsWith('2'))
        expect(ok, `${where} has a 2xx response`).toBeDefined()
        const content = ok?.[1].content ?? {}
        expect(Object.values(content)[0]?.schema, `${where} 2xx schema`).toBeTypeOf('object')
        for (const p of path.match(/\{\w+\}/g) ?? []) {
          expect(op.parameters?.some((q) => q.in === 'path' && `{${q.name}}` === p), `${where} documents ${p}`).toBe(true)
        }
        if (path === '/health') {
          expect(op.security).toBeUndefined()
          expect(op.responses['503']).toBeDefined()
        } else {
          expect(op.security, `${where} needs a token`).toEqual([{ bearerAuth: [] }])
          for (const code of ['401', '403']) expect(op.responses[code]?.content?.['application/json']?.schema, `${where} ${code}`).toBeTypeOf('object')
        }
      }
    }
  })

  it('documents the telemetry query parameters', async () => {
    const doc = (await f.app.inject({ url: '/docs/json', headers: f.auth('viewer') })).json() as { paths: Record<string, Record<string, Operation>> }
    const op = doc.paths['/api/v1/devices/{gateway}/{device}/telemetry']?.get
    expect(op?.parameters?.filter((p) => p.in === 'query').map((p) => p.name).sort()).toEqual(['aggregate', 'every', 'from', 'limit', 'points', 'to'])
    expect(Object.keys(op?.responses ?? {}).sort()).toEqual(['200', '400', '401', '403', '404'])
  })
})

describe('Swagger UI at /docs', () => {
  it('needs a token like every route but /health', async () => {
    for (const url of ['/docs', '/docs/json', '/docs/static/swagger-ui.css']) {
      const res = await f.app.inject({ url })
      expect(res.statusCode, url).toBe(401)
    }
    expect((await f.app.inject({ url: '/docs/json?access_token=muni_nope' })).statusCode).toBe(401)
  })

  it('takes the token as ?access_token= in a browser, and keeps it in an HttpOnly cookie for the UI files', async () => {
    const token = (f.auth('viewer').authorization as string).replace(/^Bearer /, '')
    const page = await f.app.inject({ url: `/docs?access_token=${encodeURIComponent(token)}` })
    expect([200, 302]).toContain(page.statusCode)
    const setCookie = String(page.headers['set-cookie'])
    expect(setCookie).toMatch(/^muni_docs_token=[^;]+; Path=\/docs; HttpOnly; SameSite=Strict$/)
    const cookie = setCookie.split(';')[0] as string
    const ui = await f.app.inject({ url: '/docs', headers: { cookie } })
    expect(ui.statusCode).toBe(200)
    expect(ui.headers['content-type']).toMatch(/^text\/html/)
    expect(ui.body).toContain('Swagger UI')
    const css = await f.app.inject({ url: '/docs/static/swagger-ui.css', headers: { cookie } })
    expect(css.statusCode).toBe(200)
    const json = await f.app.inject({ url: '/docs/json', headers: { cookie } })
    expect(json.statusCode).toBe(200)
  })
})
