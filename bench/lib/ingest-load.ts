/**
 * Load generator for `npm run bench -- ingest`, run as its own process so its CPU is not
 * counted against what is measured. Connects G gateways (mqtt.js, QoS 1, persistent
 * sessions), publishes each one's birth, prints `ready`, waits for `go` on stdin, then
 * publishes M telemetry batches per gateway of R readings each with at most W unacknowledged
 * per gateway, and prints one JSON line: messages, readings, wall ms, and the
 * publish→PUBACK latency percentiles.
 *
 * argv[2]: JSON { url, gateways: [{ site, gateway, username?, password? }], messages, readings, window }
 */
import { createInterface } from 'node:readline'
import { encode, topics } from '../../shared/mqtt/index.ts'
import { connectGateways } from './gateways.ts'

interface Spec {
  url: string
  gateways: Array<{ site: string; gateway: string; username?: string; password?: string }>
  messages: number
  readings: number
  window: number
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec
// The bench holds our stdin: when it ends (the bench exited, however), so do we, even mid-run.
process.stdin.once('end', () => process.exit(0))
const DEVICES = 25


/** One batch as the edge encodes it: R readings over the gateway's devices, distinct sample times. */
function batch(gateway: string, seq: number, base: number): Buffer {
  const readings = Array.from({ length: spec.readings }, (_, i) => ({
    device: `d${i % DEVICES}`,
    ts: base + seq * spec.readings + i,
    values: { level_m: 1 + ((seq * 7 + i) % 300) / 100, temperature_c: 12.5, battery_v: 3.6 },
    errors: {},
    historical: false,
  }))
  return Buffer.from(encode('telemetry', { gateway, seq, sentAt: base + seq, readings }))
}

async function main(): Promise<void> {
  const clients = await connectGateways(spec.url, spec.gateways, DEVICES, 'bench-load')
  // Encode up front: the loader must not be the bottleneck.
  const base = Date.now() - 86_400_000
  const payloads = spec.gateways.map((g) => Array.from({ length: spec.messages }, (_, s) => batch(g.gateway, s + 1, base)))
  process.stdout.write('ready\n')
  await new Promise<void>((resolve) => createInterface({ input: process.stdin }).on('line', (l) => l === 'go' && resolve()))
  const latencies: number[] = []
  const t0 = performance.now()
  await Promise.all(
    clients.map(async (c, gi) => {
      const g = spec.gateways[gi]!
      const topic = topics.telemetry(g.site, g.gateway)
      let inFlight = 0
      let next = 0
      await new Promise<void>((resolve, reject) => {
        const pump = (): void => {
          while (inFlight < spec.window && next < spec.messages) {
            const payload = payloads[gi]![next++]!
            const sent = performance.now()
            inFlight++
            c.publish(topic, payload, { qos: 1 }, (err) => {
              if (err) return reject(err)
              latencies.push(performance.now() - sent)
              inFlight--
              if (next >= spec.messages && inFlight === 0) resolve()
              else pump()
            })
          }
        }
        pump()
      })
    }),
  )
  const ms = performance.now() - t0
  latencies.sort((a, b) => a - b)
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? NaN
  process.stdout.write(`${JSON.stringify({ messages: latencies.length, readings: latencies.length * spec.readings, ms, p50: pct(50), p99: pct(99) })}\n`)
  await Promise.all(clients.map((c) => c.endAsync()))
}

main().catch((e: unknown) => {
  process.stderr.write(`load: ${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
