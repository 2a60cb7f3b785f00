/**
 * The API's own Prometheus metrics: requests by route template and status, and a latency
 * histogram per route. Text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): `# HELP` and `# TYPE`
 * once per family, then one line per sample; histogram buckets are cumulative with `le`.
 */

/** Upper bounds of the request duration histogram, seconds. */
export const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

/** Label values escape `\`, `"` and newline (exposition format 0.0.4). */
const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')

const labels = (l: Record<string, string>): string =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',')}}`

interface Histogram {
  buckets: number[]
  sum: number
  count: number
}

/**
 * Counts requests. Routes are the registered templates (`/api/v1/devices/:gateway/:device`),
 * never raw URLs, and unmatched URLs share one `route="unmatched"`, so label cardinality is bounded.
 */
export class HttpMetrics {
  readonly #requests = new Map<string, { method: string; route: string; status: string; n: number }>()
  readonly #durations = new Map<string, { method: string; route: string; h: Histogram }>()

  observe(method: string, route: string | undefined, status: number, seconds: number): void {
    const r = route ?? 'unmatched'
    const key = `${method} ${r} ${status}`
    const counter = this.#requests.get(key) ?? { method, route: r, status: String(status), n: 0 }
    counter.n += 1
    this.#requests.set(key, counter)

    const hKey = `${method} ${r}`
    const entry = this.#durations.get(hKey) ?? { method, route: r, h: { buckets: DURATION_BUCKETS_S.map(() => 0), sum: 0, count: 0 } }
    DURATION_BUCKETS_S.forEach((b, i) => {
      if (seconds <= b) entry.h.buckets[i] = (entry.h.buckets[i] ?? 0) + 1
    })
    entry.h.sum += seconds
    entry.h.count += 1
    this.#durations.set(hKey, entry)
  }

  /** The exposition text, ending with a newline. */
  text(): string {
    const lines = [
      '# HELP muni_api_http_requests_total HTTP requests answered, by method, route template and status.',
      '# TYPE muni_api_http_requests_total counter',
    ]
    for (const c of this.#requests.values()) {
      lines.push(`muni_api_http_requests_total${labels({ method: c.method, route: c.route, status: c.status })} ${c.n}`)
    }
    lines.push(
      '# HELP muni_api_http_request_duration_seconds Time from request received to response sent, by method and route template.',
      '# TYPE muni_api_http_request_duration_seconds histogram',
    )
    for (const { method, route, h } of this.#durations.values()) {
      DURATION_BUCKETS_S.forEach((b, i) => {
        lines.push(`muni_api_http_request_duration_seconds_bucket${labels({ method, route, le: String(b) })} ${h.buckets[i] ?? 0}`)
      })
      lines.push(`muni_api_http_request_duration_seconds_bucket${labels({ method, route, le: '+Inf' })} ${h.count}`)
      lines.push(`muni_api_http_request_duration_seconds_sum${labels({ method, route })} ${h.sum}`)
      lines.push(`muni_api_http_request_duration_seconds_count${labels({ method, route })} ${h.count}`)
    }
    return `${lines.join('\n')}\n`
  }
}
