/**
 * Load generator for `npm run bench -- alarms`, its own process. Connects G gateways
 * (100 water-level devices each, hydrolux-rl80@2.3: level_m hi 2.5 m), publishes births,
 * prints `ready`, waits for `go RATE SECONDS READINGS TRIGGER_EVERY` on stdin, then publishes
 * RATE messages per second (spread over the gateways, paced every 10 ms) of READINGS readings
 * each, for SECONDS, and prints one JSON line: messages, readings, ms, triggers. Sequence
 * numbers run on across phases (the cloud dedupes by gateway and seq).
 *
 * Every reading's sample time is the wall clock when its message is published, so an alarm
 * transition's time (`action.at`, the reading's ts) is its publish time. Devices d0 of each
 * gateway is the trigger: every `triggerEvery`-th message of a gateway carries d0 alternately at
 * 3.0 m and 1.0 m, which raises and clears its threshold alarm (and rate alarm) each time;
 * the other devices sit at 1.0–1.3 m, never in alarm. `go` may be sent again for another phase.
 *
 * argv[2]: JSON { url, gateways: [{ site, gateway, username, password }] }
 */
import { createInterface } from 'node:readline'
import { encode, topics } from '../../shared/mqtt/index.ts'
import { connectGateways } from './gateways.ts'

interface Spec {
  url: string
  gateways: Array<{ site: string; gateway: string; username?: string; password?: string }>
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec
// The bench holds our stdin: when it ends (the bench exited, however), so do we, even mid-phase
// (a loader left behind kept reconnecting to a broker that was gone, loading the next runs).
process.stdin.once('end', () => process.exit(0))
const DEVICES = 100


async function main(): Promise<void> {
  const clients = await connectGateways(spec.url, spec.gateways, DEVICES, 'bench-alarm-load')
  const seq = spec.gateways.map(() => 0)
  const high = spec.gateways.map(() => false)
  let triggers = 0
  const lastTs = spec.gateways.map(() => 0)
  let readingsPerMsg = 10
  let triggerEvery = 20
  const message = (gi: number): Buffer => {
    const g = spec.gateways[gi]!
    const s = ++seq[gi]!
    // A message's readings are of distinct devices, stamped with the publish time; a gateway's
    // messages are at least 1 ms apart in sample time, so each device's times only grow.
    let ts = Date.now()
    if (ts <= lastTs[gi]!) ts = lastTs[gi]! + 1
    lastTs[gi] = ts
    const trigger = s % triggerEvery === 0
    if (trigger) {
      high[gi] = !high[gi]
      triggers++
    }
    const readings = Array.from({ length: readingsPerMsg }, (_, i) => {
      const device = trigger && i === 0 ? 'd0' : `d${1 + ((s * readingsPerMsg + i) % (DEVICES - 1))}`
      const level = device === 'd0' ? (high[gi] ? 3.0 : 1.0) : 1 + ((s + i) % 30) / 100
      return { device, ts, values: { level_m: level }, errors: {}, historical: false }
    })
    return Buffer.from(encode('telemetry', { gateway: g.gateway, seq: s, sentAt: ts, readings }))
  }
  process.stdout.write('ready\n')
  const lines = createInterface({ input: process.stdin })
  for await (const line of lines) {
    const [cmd, rateS, secondsS, readingsS, triggerS] = line.split(' ')
    if (cmd !== 'go') break
    const rate = Number(rateS)
    const seconds = Number(secondsS)
    readingsPerMsg = Math.min(DEVICES - 1, Number(readingsS))
    triggerEvery = Number(triggerS)
    triggers = 0
    let sent = 0
    let acked = 0
    const t0 = performance.now()
    await new Promise<void>((resolve, reject) => {
      let due = 0
      const timer = setInterval(() => {
        const elapsed = performance.now() - t0
        if (elapsed >= seconds * 1000) {
          clearInterval(timer)
          const wait = setInterval(() => {
            if (acked === sent) {
              clearInterval(wait)
              resolve()
            }
          }, 5)
          return
        }
        // Messages due by now at RATE per second; sent round-robin over the gateways.
        due = Math.floor((elapsed / 1000) * rate)
        while (sent < due) {
          const gi = sent % clients.length
          sent++
          clients[gi]!.publish(topics.telemetry(spec.gateways[gi]!.site, spec.gateways[gi]!.gateway), message(gi), { qos: 1 }, (err) => {
            if (err) reject(err)
            else acked++
          })
        }
      }, 10)
    })
    process.stdout.write(`${JSON.stringify({ messages: sent, readings: sent * readingsPerMsg, ms: performance.now() - t0, triggers })}\n`)
  }
  await Promise.all(clients.map((c) => c.endAsync(true)))
  process.exit(0)
}

main().catch((e: unknown) => {
  process.stderr.write(`alarm load: ${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
