import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Fixture, makeFixture } from './test-support/fixture.ts'
import { HttpMetrics } from './metrics.ts'

interface Family {
  help?: string
  type?: string
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const SAMPLE_RE = new RegExp(`^(${NAME})(?:\\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*",?)*)\\})? (\\S+)(?: -?\\d+)?$`)
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/g

/**
 * A strict reader of the Prometheus text format 0.0.4: every line is `# HELP`, `# TYPE`
 * or a sample; a family's HELP and TYPE come once, before its samples; histogram samples
 * use `_bucket`/`_sum`/`_count`. Throws on anything else.
 */
function parseExposition(text: string): Map<string, Family> {
  expect(text.endsWith('\n')).toBe(true)
  const families = new Map<string, Family>()
  const family = (name: string) => {
    const f = families.get(name) ?? { samples: [] }
    families.set(name, f)
    return f
  }
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (meta !== null) {
      const [, kind, name, rest] = meta as unknown as [string, 'HELP' | 'TYPE', string, string]
      const f = family(name)
      if (f.samples.length > 0) throw new Error(`${kind} after samples of ${name}`)
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`second HELP for ${name}`)
        f.help = rest
      } else {
        if (f.type !== undefined) throw new Error(`second TYPE for ${name}`)
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`bad TYPE ${rest}`)
        f.type = rest
      }
      continue
    }
    if (line.startsWith('#')) continue
    const m = SAMPLE_RE.exec(line)
    if (m === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`)
    const [, name = '', labelText = '', valueText = ''] = m
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText)
    if (Number.isNaN(value) && valueText !== 'NaN') throw new Error(`bad value in ${line}`)
    const base = [...families.keys()].find((k) => name === k || (families.get(k)?.type === 'histogram' && ['_bucket', '_sum', '_count'].some((s) => name === k + s)))
    if (base === undefined) throw new Error(`sample ${name} before its # TYPE`)
    const labels = Object.fromEntries([...labelText.matchAll(LABEL_RE)].map((l) => [l[1] ?? '', l[2] ?? '']))
    family(base).samples.push({ name, labels, value })
  }
  return families
}

let f: Fixture
beforeEach(async () => {
  f = await makeFixture()
})
afterEach(async () => {
  await f.close()
})

describe('GET /metrics', () => {
  it('is Prometheus text: requests by route and status, a duration histogram, and the other parts appended', async () => {
    await f.app.inject({ url: '/api/v1/sites', headers: f.auth('viewer') })
    await f.app.inject({ url: '/api/v1/sites', headers: f.auth('viewer') })
    await f.app.inject({ url: '/api/v1/sites' })
    await f.app.inject({ url: '/api/v1/devices/gw-01/nope', headers: f.auth('viewer') })
    await f.app.inject({ url: '/no/such/route/12345' })

    const res = await f.app.inject({ url: '/metrics', headers: f.auth('viewer') })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
    const families = parseExposition(res.body)

    const requests = families.get('muni_api_http_requests_total')
    expect(requests?.type).toBe('counter')
    expect(requests?.help).toBeTruthy()
    const count = (route: string, status: string) =>
      requests?.samples.find((s) => s.labels.route === route && s.labels.status === status && s.labels.method === 'GET')?.value
    expect(count('/api/v1/sites', '200')).toBe(2)
    expect(count('/api/v1/sites', '401')).toBe(1)
    expect(count('/api/v1/devices/:gateway/:device', '404')).toBe(1)
    expect(count('unmatched', '404')).toBe(1)
    expect(res.body).not.toContain('12345') // raw URLs never become labels

    const durations = families.get('muni_api_http_request_duration_seconds')
    expect(durations?.type).toBe('histogram')
    const sites = durations?.samples.filter((s) => s.labels.route === '/api/v1/sites') ?? []
    const buckets = sites.filter((s) => s.name.endsWith('_bucket'))
    expect(buckets.at(-1)?.labels.le).toBe('+Inf')
    expect(buckets.at(-1)?.value).toBe(3)
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]?.value).toBeGreaterThanOrEqual(buckets[i - 1]?.value ?? 0)
    expect(sites.find((s) => s.name.endsWith('_count'))?.value).toBe(3)
    expect(sites.find((s) => s.name.endsWith('_sum'))?.value).toBeGreaterThan(0)

    expect(families.get('muni_ingest_messages_total')?.samples).toEqual([{ name: 'muni_ingest_messages_total', labels: {}, value: 42 }])
  })

  it('the reader rejects text that is not the exposition format (it can fail)', () => {
    expect(() => parseExposition('muni_x 1\n')).toThrow(/before its # TYPE/)
    expect(() => parseExposition('# TYPE a counter\na{route="x} 1\n')).toThrow(/not a sample line/)
    expect(() => parseExposition('# TYPE a counter\na 1\n# HELP a late\n')).toThrow(/after samples/)
  })

  it('escapes label values', () => {
    const m = new HttpMetrics()
    m.observe('GET', '/a"b\\c\nd', 200, 0.001)
    const families = parseExposition(m.text())
    expect(families.get('muni_api_http_requests_total')?.samples[0]?.labels.route).toBe('/a\\"b\\\\c\\nd')
  })
})

describe('GET /health', () => {
  it('answers 200 ok while every check passes, 503 degraded when one fails', async () => {
    const ok = await f.app.inject({ url: '/health' })
    expect(ok.statusCode).toBe(200)
    expect(ok.json()).toEqual({ status: 'ok', checks: { storage: { ok: true }, broker: { ok: true, detail: '2 clients' } } })

    f.health.report = { ok: false, checks: { storage: { ok: false, detail: 'disk full' }, broker: { ok: true } } }
    const bad = await f.app.inject({ url: '/health' })
    expect(bad.statusCode).toBe(503)
    expect(bad.json()).toEqual({ status: 'degraded', checks: { storage: { ok: false, detail: 'disk full' }, broker: { ok: true } } })
  })
})
