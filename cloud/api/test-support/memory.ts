/**
 * Small in-memory stand-ins for the views the API reads, for the API's own tests. The
 * real registry, storage and dead-letter store are tested in their folders; the
 * service's end-to-end test wires them to the API.
 */
import type {
  Aggregate,
  DeadLetter,
  DeadLetterView,
  RegistryDevice,
  RegistryGateway,
  RegistrySite,
  RegistryView,
  TelemetryQuery,
  TelemetryResult,
  TelemetryRow,
  TelemetryStore,
} from '../../model.ts'
import type { PointValue } from '../../../shared/mqtt/messages.ts'

export class MemoryRegistry implements RegistryView {
  constructor(
    readonly gatewayList: RegistryGateway[],
    readonly deviceList: RegistryDevice[],
  ) {}

  sites(): RegistrySite[] {
    const bySite = new Map<string, RegistrySite>()
    for (const g of this.gatewayList) {
      const s = bySite.get(g.site) ?? { site: g.site, gateways: 0, devices: 0, online: 0 }
      s.gateways += 1
      s.devices += g.devices
      if (g.state === 'online') s.online += 1
      bySite.set(g.site, s)
    }
    return [...bySite.values()]
  }

  gateways(site?: string): RegistryGateway[] {
    return this.gatewayList.filter((g) => site === undefined || g.site === site)
  }

  gateway(site: string, gateway: string): RegistryGateway | undefined {
    return this.gatewayList.find((g) => g.site === site && g.gateway === gateway)
  }

  devices(filter: { site?: string; gateway?: string } = {}): RegistryDevice[] {
    return this.deviceList.filter((d) => (filter.site === undefined || d.site === filter.site) && (filter.gateway === undefined || d.gateway === filter.gateway))
  }

  device(gateway: string, device: string): RegistryDevice | undefined {
    return this.deviceList.find((d) => d.gateway === gateway && d.device === device)
  }
}

/** One stored sample: a device's values at a time. */
export interface MemorySample {
  gateway: string
  device: string
  ts: number
  values: Record<string, PointValue>
}

function aggregate(values: PointValue[], how: Aggregate): PointValue | null {
  const nums = values.filter((v): v is number => typeof v === 'number')
  if (how === 'last') return values.at(-1) ?? null
  if (nums.length === 0) return null
  if (how === 'min') return Math.min(...nums)
  if (how === 'max') return Math.max(...nums)
  return nums.reduce((a, b) => a + b, 0) / nums.length
}

/** `query` over an array, with buckets and limits as the TelemetryStore contract says; records every query. */
export class MemoryTelemetry implements Pick<TelemetryStore, 'query'> {
  readonly queries: TelemetryQuery[] = []
  constructor(readonly samples: MemorySample[] = []) {}

  async query(q: TelemetryQuery): Promise<TelemetryResult> {
    this.queries.push(q)
    const pick = (values: Record<string, PointValue>): Record<string, PointValue> =>
      Object.fromEntries(Object.entries(values).filter(([k]) => q.points === undefined || q.points.includes(k)))
    const inRange = this.samples
      .filter((s) => s.gateway === q.gateway && s.device === q.device && s.ts >= q.from && s.ts < q.to)
      .sort((a, b) => a.ts - b.ts)
    let rows: TelemetryRow[]
    if (q.every === undefined) {
      rows = inRange.map((s) => ({ ts: s.ts, values: pick(s.values) }))
    } else {
      const every = q.every
      const buckets = new Map<number, Map<string, PointValue[]>>()
      for (const s of inRange) {
        const start = q.from + Math.floor((s.ts - q.from) / every) * every
        const b = buckets.get(start) ?? new Map<string, PointValue[]>()
        for (const [k, v] of Object.entries(pick(s.values))) b.set(k, [...(b.get(k) ?? []), v])
        buckets.set(start, b)
      }
      rows = [...buckets].map(([ts, b]) => ({
        ts,
        values: Object.fromEntries([...b].map(([k, vs]) => [k, aggregate(vs, q.aggregate ?? 'mean')])),
      }))
    }
    return { rows: rows.slice(0, q.limit), truncated: rows.length > q.limit }
  }
}

export class MemoryDeadLetters implements DeadLetterView {
  constructor(readonly letters: DeadLetter[] = []) {}

  list(q: { limit: number; before?: number; reason?: string }): DeadLetter[] {
    return this.letters
      .filter((l) => (q.before === undefined || l.id < q.before) && (q.reason === undefined || l.reason === q.reason))
      .sort((a, b) => b.id - a.id)
      .slice(0, q.limit)
  }

  count(): number {
    return this.letters.length
  }

  countByReason(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const l of this.letters) out[l.reason] = (out[l.reason] ?? 0) + 1
    return out
  }
}
