/**
 * Prometheus text exposition format 0.0.4, hand-formatted: `# HELP` and `# TYPE` once
 * per family, then one line per sample (https://prometheus.io/docs/instrumenting/exposition_formats/).
 * Pure: the agent builds the families from its parts' counters, `/metrics` prints them.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram'
export type Labels = Readonly<Record<string, string | number>>

export interface Sample {
  readonly labels?: Labels
  readonly value: number
  /** Suffix of the sample name, for histograms: `_bucket`, `_sum`, `_count`. */
  readonly suffix?: string
}

export interface MetricFamily {
  readonly name: string
  readonly help: string
  readonly type: MetricType
  readonly samples: readonly Sample[]
}

/** Upper bounds of the request latency histogram, seconds. */
export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const

/** `\`, `"` and newline are escaped in label values; `\` and newline in HELP. */
const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Number.POSITIVE_INFINITY) return '+Inf'
  if (v === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(v)
}

function formatLabels(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {})
  if (entries.length === 0) return ''
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(typeof v === 'number' ? formatValue(v) : v)}"`).join(',')}}`
}

/** The exposition text of `families`, ending with a newline. */
export function formatMetrics(families: readonly MetricFamily[]): string {
  const lines: string[] = []
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`)
    lines.push(`# TYPE ${f.name} ${f.type}`)
    for (const s of f.samples) lines.push(`${f.name}${s.suffix ?? ''}${formatLabels(s.labels)} ${formatValue(s.value)}`)
  }
  return `${lines.join('\n')}\n`
}

/**
 * A cumulative latency histogram fed from a driver's counters (`DriverStats.latency`):
 * count and sum are the driver's own; the buckets take the samples added since the last
 * look, from its ring of recent latencies. Looked at often (the agent does every second),
 * no sample is missed; if more than the ring holds arrived in between, the older ones
 * count only in `+Inf`, so the buckets stay cumulative and never exceed the count.
 */
export class LatencyHistogram {
  readonly #bounds: readonly number[]
  readonly #buckets: number[]
  #seen = 0
  #count = 0
  #sumS = 0

  constructor(boundsS: readonly number[] = LATENCY_BUCKETS_S) {
    this.#bounds = boundsS
    this.#buckets = boundsS.map(() => 0)
  }

  /** Takes the driver's latency counters (ms) as they are now. */
  update(latency: { readonly count: number; readonly sumMs: number; readonly recentMs: readonly number[] }): void {
    const fresh = Math.min(Math.max(0, latency.count - this.#seen), latency.recentMs.length)
    for (const ms of latency.recentMs.slice(latency.recentMs.length - fresh)) {
      const s = ms / 1000
      this.#bounds.forEach((b, i) => {
        if (s <= b) this.#buckets[i] = (this.#buckets[i] ?? 0) + 1
      })
    }
    this.#seen = latency.count
    this.#count = latency.count
    this.#sumS = latency.sumMs / 1000
  }

  /** `_bucket` (le, cumulative), `_sum`, `_count` samples with `labels`. */
  samples(labels: Labels = {}): Sample[] {
    return [
      ...this.#bounds.map((b, i) => ({ suffix: '_bucket', labels: { ...labels, le: b }, value: this.#buckets[i] ?? 0 })),
      { suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: this.#count },
      { suffix: '_sum', labels, value: this.#sumS },
      { suffix: '_count', labels, value: this.#count },
    ]
  }
}
