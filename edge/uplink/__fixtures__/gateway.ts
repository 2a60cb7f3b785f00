/**
 * A child process for restart.test.ts: a minimal gateway — outbox, session file and
 * uplink on DIR — that appends one reading every 10 ms and prints, one write(2) per line:
 *   online SESSION      after the birth and online state of a connection went out
 *   appended TS         after the reading with ts TS was committed to the outbox
 * until it is killed.
 *
 * Usage: node --import tsx gateway.ts BROKER_URL DIR DEVICE
 */
import { writeSync } from 'node:fs'
import { join } from 'node:path'
import { Outbox } from '../../outbox/index.ts'
import { FileSessionStore } from '../session-store.ts'
import { Uplink } from '../uplink.ts'

const [url, dir, device = 'pv-01'] = process.argv.slice(2)
if (url === undefined || dir === undefined) {
  process.stderr.write('usage: gateway.ts BROKER_URL DIR DEVICE\n')
  process.exit(2)
}
setTimeout(() => process.exit(3), 30_000).unref()
const say = (line: string): void => void writeSync(1, `${line}\n`)

const outbox = new Outbox({ path: join(dir, 'outbox.db'), site: 'north', gateway: 'gw-01', maxReadings: 1_000_000, maxAgeMs: 86_400_000, lockTimeoutMs: 5_000 })
outbox.open()
const uplink = new Uplink({
  site: 'north',
  gateway: 'gw-01',
  broker: { url, clientId: 'muni-edge-gw-01' },
  outbox,
  birth: () => ({ gateway: 'gw-01', site: 'north', agent: { name: 'muni-edge', version: '0.1.0' }, devices: [] }),
  sessionStore: new FileSessionStore(join(dir, 'session.json')),
  batch: { maxReadings: 20, maxBytes: 64 * 1024, maxDelayMs: 50 },
  onCommand: async (req) => ({ id: req.id, ts: Date.now(), ok: true }),
  onOnline: (session) => say(`online ${session}`),
  reconnect: { initialMs: 50, maxMs: 200 },
  pollMs: 20,
  logger: { info: () => {}, warn: () => {}, error: (m) => process.stderr.write(`${m}\n`) },
})
uplink.start()
let ts = Date.now() * 10
setInterval(() => {
  ts++
  outbox.append([{ device, ts, values: { n: ts % 1000 }, errors: {}, historical: false }])
  say(`appended ${ts}`)
  uplink.kick()
}, 10)
