/**
 * The kill -9 child (engine.test.ts): raises alarms on a state database at argv[2] and
 * prints `T <id>` for every transition once it is durable (`onTransition` runs after
 * the commit), `B <n>` after each `onReadings` returns. The parent SIGKILLs it mid-stream.
 */
import { openStateDb } from '../../state/db.ts'
import { AlarmEngine } from '../engine.ts'
import { MIN, RULES, storm, T0 } from './fixtures.ts'

const path = process.argv[2]
if (path === undefined) throw new Error('usage: kill-child.ts DB')
const db = openStateDb(path)
let clock = T0
const engine = new AlarmEngine({ db, rules: RULES, now: () => clock, onTransition: (t) => process.stdout.write(`T ${t.id}\n`) })
engine.start()
// 20 underpasses, each one storm, staggered by 3 min; then again a day later, forever.
const series = Array.from({ length: 20 }, (_, i) => storm('gw-up', `wl-${i}`, T0 + i * 3 * MIN).readings)
let n = 0
let day = 0
function next(): void {
  const m = n % 300
  if (m === 0 && n > 0) day++
  const batch = series.flatMap((s) => (s[m] ? [{ ...s[m], ts: s[m].ts + day * 1440 * MIN }] : []))
  clock = T0 + day * 1440 * MIN + m * MIN
  engine.onReadings(batch)
  process.stdout.write(`B ${n}\n`)
  n++
  setImmediate(next)
}
next()
