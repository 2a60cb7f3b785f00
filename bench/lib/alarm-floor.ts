/**
 * The floor under the publish → SSE latency of `npm run bench -- alarms`: the same load
 * generator and SSE listener processes, on the same machine at the same load, through a bare
 * Aedes broker (no credentials, no validation) to an in-process handler that writes an SSE
 * `alarm` event for every reading of the trigger device d0 the moment the broker hands the
 * message over. No storage, registry, dedupe or alarm engine: what this machine and this
 * harness give with nothing in between, so the cloud's figures can be read against it.
 */
import { createServer as createHttpServer, type ServerResponse } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { Aedes } from 'aedes'

export interface Floor {
  mqtt: string
  api: string
  close(): Promise<void>
}

export async function startFloor(): Promise<Floor> {
  const aedes = await Aedes.createBroker()
  const streams = new Set<ServerResponse>()
  let id = 0
  aedes.on('publish', (packet) => {
    if (!packet.topic.endsWith('/telemetry')) return
    const batch = JSON.parse(packet.payload.toString()) as { readings: Array<{ device: string; ts: number }> }
    for (const r of batch.readings) {
      if (r.device !== 'd0') continue
      const chunk = `id: ${++id}\nevent: alarm\ndata: ${JSON.stringify({ transition: { id, action: { at: r.ts } } })}\n\n`
      for (const s of streams) s.write(chunk)
    }
  })
  const mqttServer = createServer({ noDelay: true }, aedes.handle)
  await new Promise<void>((r) => mqttServer.listen(0, '127.0.0.1', () => r()))
  const http = createHttpServer((req, res) => {
    if (req.url !== '/api/v1/stream') {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
    res.flushHeaders()
    streams.add(res)
    req.on('close', () => streams.delete(res))
  })
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()))
  return {
    mqtt: `mqtt://127.0.0.1:${(mqttServer.address() as AddressInfo).port}`,
    api: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    close: async () => {
      for (const s of streams) s.destroy()
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
      await new Promise<void>((resolve) => mqttServer.close(() => resolve()))
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
}
