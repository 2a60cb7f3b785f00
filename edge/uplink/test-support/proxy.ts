/**
 * A TCP proxy between the gateway and a test broker: the test's hand on the link, for
 * either broker, without reaching into the uplink.
 * - `cut()`: destroys every connection on both sides, as a dead cellular link would
 *   look to a broker that notices: no DISCONNECT, so the broker publishes the Will;
 * - `down()` / `up()`: cut, then refuse connections until `up()` (accepted and closed
 *   at once), so the gateway stays away while the test publishes;
 * - `holdDownstream()`: stops forwarding broker → gateway bytes (PUBACKs never arrive:
 *   batches stay in flight) until the next `cut()`; the dropped bytes break the stream,
 *   so always `cut()` afterwards.
 * TCP_NODELAY on both sides, so the proxy adds no Nagle delay of its own.
 */
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net'

export interface Proxy {
  readonly port: number
  /** `mqtt://127.0.0.1:PORT` */
  readonly url: string
  cut(): void
  down(): void
  up(): void
  holdDownstream(): void
  /** Remote ports of the gateway-side connections open now (the gateway's local ports). */
  clientPorts(): number[]
  /** Connections accepted, ever. */
  readonly accepted: number
  close(): Promise<void>
}

export async function startProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<Proxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>()
  let refusing = false
  let holding = false
  let accepted = 0
  const server = createServer({ noDelay: true }, (client) => {
    accepted++
    if (refusing) return void client.destroy()
    const upstream = createConnection({ port: targetPort, host: targetHost, noDelay: true })
    const pair = { client, upstream }
    pairs.add(pair)
    const end = (): void => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('data', (d: Buffer) => upstream.write(d))
    upstream.on('data', (d: Buffer) => {
      if (!holding) client.write(d)
    })
    for (const s of [client, upstream]) {
      s.on('error', end)
      s.on('close', end)
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  const cut = (): void => {
    holding = false
    for (const p of pairs) {
      p.client.destroy()
      p.upstream.destroy()
    }
    pairs.clear()
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    cut,
    down() {
      refusing = true
      cut()
    },
    up() {
      refusing = false
    },
    holdDownstream() {
      holding = true
    },
    clientPorts: () => [...pairs].map((p) => p.client.remotePort).filter((p): p is number => p !== undefined),
    get accepted() {
      return accepted
    },
    async close() {
      refusing = true
      cut()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
