/**
 * A real webhook receiver for the tests: node:http on 127.0.0.1:0 that verifies every
 * request's signature with `verifySignature`, records it, and answers what `respond` says
 * (default 200). `respond` may return a promise: a slow receiver.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { WebhookPayload } from '../webhook-policy.ts'
import { EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../webhook-signature.ts'

export interface Received {
  path: string
  headers: IncomingHttpHeaders
  body: string
  payload: WebhookPayload
  /** `x-muni-event-id` as a number. */
  eventId: number
  /** The signature verified with the receiver's secret. */
  valid: boolean
  /** What the receiver answered. */
  status: number
}

export interface Reply {
  status: number
  headers?: Record<string, string>
  body?: string
}

export interface Receiver {
  url: string
  /** Requests answered, in the order answered. */
  requests: Received[]
  /** Requests received, answered or not yet (a slow receiver). */
  arrived: Array<Omit<Received, 'status'>>
  /** Event ids answered 2xx, in arrival order. */
  delivered(path?: string): number[]
  /** Resolves once `predicate` holds (checked on every request and every 20 ms), rejects after `ms`. */
  until(predicate: () => boolean, ms?: number): Promise<void>
  close(): Promise<void>
}

export async function startReceiver(secret: string, respond: (r: Omit<Received, 'status'>, n: number) => Reply | Promise<Reply> = () => ({ status: 200 })): Promise<Receiver> {
  const requests: Received[] = []
  const arrived: Array<Omit<Received, 'status'>> = []
  let n = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const sig = req.headers[SIGNATURE_HEADER]
      const ts = req.headers[TIMESTAMP_HEADER]
      const valid = verifySignature(secret, typeof sig === 'string' ? sig : undefined, typeof ts === 'string' ? ts : undefined, body)
      const r = { path: req.url ?? '/', headers: req.headers, body, payload: JSON.parse(body) as WebhookPayload, eventId: Number(req.headers[EVENT_ID_HEADER]), valid }
      arrived.push(r)
      void Promise.resolve(respond(r, n++)).then((reply) => {
        requests.push({ ...r, status: reply.status })
        res.writeHead(reply.status, reply.headers).end(reply.body ?? '')
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    arrived,
    delivered: (path) => requests.filter((r) => r.status >= 200 && r.status < 300 && (path === undefined || r.path === path)).map((r) => r.eventId),
    until(predicate, ms = 8000) {
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + ms
        const check = (): void => {
          if (predicate()) resolve()
          else if (Date.now() > deadline) reject(new Error(`receiver: condition not met within ${ms} ms (${requests.length} requests)`))
          else setTimeout(check, 20)
        }
        check()
      })
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
