/**
 * The agent's loopback HTTP endpoint: `GET /health` (JSON) and `GET /metrics`
 * (Prometheus text). Bound to 127.0.0.1 only: it answers anyone who can reach it and
 * says which devices are where. Anything else is 404; a report that throws is a 500
 * without details.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface HealthReport {
  readonly status: 'ok' | 'degraded'
  readonly gateway: string
  readonly site: string
  readonly uptimeS: number
  readonly uplink: { readonly connected: boolean; readonly state: string; readonly lastPublishAt: number | null; readonly session: number | null }
  readonly backlog: { readonly readings: number; readonly oldestAgeS: number | null; readonly dropped: number }
  readonly buses: readonly {
    readonly id: string
    readonly type: 'tcp' | 'rtu' | 'opcua'
    readonly target: string
    readonly requests: number
    readonly failures: Readonly<Record<string, number>>
    readonly error: string | null
  }[]
  readonly devices: readonly {
    readonly id: string
    readonly bus: string
    readonly available: boolean
    readonly availability: string
    readonly lastSuccessAt: number | null
    readonly lastError: unknown
  }[]
}

export interface HealthServerOptions {
  /** 0: a free port. */
  readonly port: number
  readonly health: () => HealthReport
  readonly metrics: () => string
}

export const HEALTH_HOST = '127.0.0.1'

export class HealthServer {
  readonly #o: HealthServerOptions
  #server: Server | undefined

  constructor(options: HealthServerOptions) {
    this.#o = options
  }

  /** The bound port; throws before `start()` resolved. */
  get port(): number {
    const a = this.#server?.address() as AddressInfo | null | undefined
    if (!a) throw new Error('the health server is not listening')
    return a.port
  }

  async start(): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]
      const send = (code: number, type: string, body: string): void => {
        res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body)
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(path === '/health' || path === '/metrics' ? 405 : 404, 'text/plain; charset=utf-8', 'not found\n')
      try {
        if (path === '/health') return send(200, 'application/json; charset=utf-8', `${JSON.stringify(this.#o.health())}\n`)
        if (path === '/metrics') return send(200, 'text/plain; version=0.0.4; charset=utf-8', this.#o.metrics())
      } catch {
        return send(500, 'text/plain; charset=utf-8', 'internal error\n')
      }
      send(404, 'text/plain; charset=utf-8', 'not found; try /health or /metrics\n')
    })
    server.keepAliveTimeout = 1_000
    this.#server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#o.port, HEALTH_HOST, () => {
        server.off('error', reject)
        resolve()
      })
    })
    return this.port
  }

  /** Closes the listener and every connection; safe to call twice. */
  async stop(): Promise<void> {
    const s = this.#server
    this.#server = undefined
    if (!s) return
    s.closeAllConnections()
    await new Promise<void>((resolve) => s.close(() => resolve()))
  }
}
