/**
 * The kill -9 child of webhooks.crash.test.ts: an alarm engine and webhook delivery on the
 * state database at argv[2], sending to the receiver at argv[3] (secret argv[4]).
 *
 *   produce: opens and closes manhole covers on 8 devices, forever (two of them in
 *            maintenance, so some transitions are not announced); prints `T <id>` once
 *            each transition is durable;
 *   drain:   only delivers what the log holds. It loads its modules, prints `L` and waits
 *            for a line on stdin before opening the database, so the test can start it
 *            while the first child still runs (tsx start-up takes seconds on a busy machine)
 *            and release it once that child is dead.
 *
 * Both print `A <id> <attempt> <outcome>` for each delivery attempt and `R` once started.
 */
import { once } from 'node:events'
import { openStateDb } from '../../state/db.ts'
import { AlarmEngine } from '../engine.ts'
import { WebhookDelivery } from '../webhooks.ts'
import { COVER, reading, ruleSet, T0 } from './fixtures.ts'

const [path, url, secret, mode] = process.argv.slice(2)
if (path === undefined || url === undefined || secret === undefined || (mode !== 'produce' && mode !== 'drain')) {
  throw new Error('usage: webhook-child.ts DB URL SECRET produce|drain')
}
const out = (line: string): boolean => process.stdout.write(`${line}\n`)
if (mode === 'drain') {
  out('L')
  await once(process.stdin, 'data')
}
const db = openStateDb(path)
let clock = T0
let delivery: WebhookDelivery | undefined
const engine = new AlarmEngine({
  db,
  rules: ruleSet({ 'manhole-cover': [COVER] }),
  now: () => clock,
  onTransition: (t) => {
    out(`T ${t.id}`)
    delivery?.notify(t.id)
  },
})
engine.start()
delivery = new WebhookDelivery({
  db,
  source: engine,
  targets: [{ name: 'ops', url, secret }],
  backoff: { initialMs: 10, maxMs: 80, factor: 2 },
  pollMs: 50,
  onAttempt: (a) => out(`A ${a.transitionId} ${a.attempt} ${a.outcome}`),
})
delivery.start()
out('R')

if (mode === 'produce') {
  const devices = Array.from({ length: 8 }, (_, i) => `mh-0${i + 1}`)
  engine.setMaintenance({ gateway: 'gw-a', device: 'mh-01' }, true)
  engine.setMaintenance({ gateway: 'gw-a', device: 'mh-02' }, true)
  let n = 0
  const next = (): void => {
    clock += 1000
    const device = devices[n % devices.length] as string
    const open = Math.floor(n / devices.length) % 2 === 0
    engine.onReadings([reading('gw-a', device, 'manhole-cover', clock, { cover_open: open })])
    // An operator acknowledges every cleared cover, so the next open raises a new alarm.
    if (!open) engine.ack(`gw-a/${device}/cover_open.state`, 'op.li')
    n++
    setTimeout(next, 2)
  }
  next()
}
