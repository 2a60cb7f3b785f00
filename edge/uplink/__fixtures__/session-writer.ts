/**
 * A child process for session-store.test.ts: takes sessions from a FileSessionStore as
 * fast as it can and prints each one after `next()` returned (one write(2) per line),
 * until it is killed.
 *
 * Usage: node --import tsx session-writer.ts FILE
 */
import { writeSync } from 'node:fs'
import { FileSessionStore } from '../session-store.ts'

const [path] = process.argv.slice(2)
if (path === undefined) {
  process.stderr.write('usage: session-writer.ts FILE\n')
  process.exit(2)
}
setTimeout(() => process.exit(3), 30_000).unref()
const store = new FileSessionStore(path)
for (;;) writeSync(1, `${store.next()}\n`)
