/**
 * The broker as a child process, for tests that kill it (kill -9):
 *   node --import tsx cloud/broker/test-support/broker-process.ts DB CREDENTIALS
 * Prints `PORT <n>` on stdout once it listens; logs to stderr.
 */
import { startBroker } from '../broker.ts'

const [persistencePath, credentialsFile] = process.argv.slice(2)
if (persistencePath === undefined || credentialsFile === undefined) {
  process.stderr.write('usage: broker-process.ts DB CREDENTIALS\n')
  process.exit(2)
}
const broker = await startBroker({ port: 0, persistencePath, credentialsFile, log: (l) => process.stderr.write(`${l}\n`) })
process.stdout.write(`PORT ${broker.port}\n`)
process.on('SIGTERM', () => void broker.close().then(() => process.exit(0)))
