/**
 * A child process for crash.test.ts: works on an outbox until it is killed (SIGKILL),
 * printing one line per committed step, only after the call that committed it returned:
 *   a N N…       readings N… were appended (reading N: device `${tag}-${N % 4}`, ts N)
 *   f SEQ BASE64 batch SEQ was handed out with these payload bytes
 *   k SEQ        batch SEQ was acknowledged
 *   n SEQ        batch SEQ was nacked
 *
 * Usage: node --import tsx writer.ts MODE DB TAG
 *   append  append 1–3 readings per transaction, as fast as it can
 *   churn   append, take a batch, ack most, nack some, leave some in flight
 *   take    append 5 readings to an empty outbox, take one batch, then wait to be killed
 */
import { writeSync } from 'node:fs'
import type { Reading } from '../../../shared/mqtt/index.ts'
import { Outbox } from '../outbox.ts'

const [mode, path, tag = 'w'] = process.argv.slice(2)
if (path === undefined || !['append', 'churn', 'take'].includes(mode ?? '')) {
  process.stderr.write('usage: writer.ts append|churn|take DB TAG\n')
  process.exit(2)
}

// Never outlive the test: stop after 30 s even if nobody kills us.
setTimeout(() => process.exit(3), 30_000).unref()

/** Writes a line with one write(2): a line is printed whole or not at all. */
const say = (line: string): void => void writeSync(1, `${line}\n`)
const reading = (n: number): Reading => ({ device: `${tag}-${n % 4}`, ts: n, values: { n }, errors: {}, historical: false })

const outbox = new Outbox({ path, site: 'north', gateway: 'gw-01', maxReadings: 10_000_000, maxAgeMs: 365 * 86_400_000, lockTimeoutMs: 5_000 })
outbox.open()
say('open')

if (mode === 'take') {
  if (outbox.stats().readings === 0) {
    outbox.append([0, 1, 2, 3, 4].map(reading))
    say('a 0 1 2 3 4')
  }
  const b = outbox.nextBatch({ maxReadings: 3 })
  if (b !== undefined) say(`f ${b.seq} ${Buffer.from(b.payload).toString('base64')}`)
  setInterval(() => {}, 1_000) // wait for SIGKILL
} else {
  outbox.setUplink(true)
  const deadline = Date.now() + 25_000
  for (let n = 0, step = 0; Date.now() < deadline; step++) {
    const k = mode === 'append' ? 1 + (step % 3) : 2
    const ns = Array.from({ length: k }, () => n++)
    outbox.append(ns.map(reading))
    say(`a ${ns.join(' ')}`)
    if (mode !== 'churn') continue
    const b = outbox.nextBatch({ maxReadings: 3 })
    if (b === undefined) continue
    say(`f ${b.seq} ${Buffer.from(b.payload).toString('base64')}`)
    if (step % 7 === 3) continue // left in flight
    if (step % 5 === 1) {
      outbox.nack(b.seq)
      say(`n ${b.seq}`)
    } else {
      outbox.ack(b.seq)
      say(`k ${b.seq}`)
    }
  }
  outbox.close()
}
