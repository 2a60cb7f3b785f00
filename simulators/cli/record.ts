/**
 * `muni record`: records what a broker carries into an NDJSON recording
 * (simulators/replay/format.ts) until Ctrl-C / SIGTERM, `--count` or `--duration`.
 * Status and the summary go to stderr; exit code 0 when the recording was closed
 * cleanly, 1 when it could not start or the file could not be written.
 */
import { Command, InvalidArgumentError } from 'commander'
import { BrokerError, brokerTarget, PASSWORD_ENV } from '../replay/connect.ts'
import { defaultFilters } from '../replay/filters.ts'
import { formatDuration } from '../replay/progress.ts'
import { Recorder, type RecorderEnd } from '../replay/recorder.ts'
import { onStopSignal } from '../replay/signals.ts'

interface RecordOptions {
  broker: string
  out: string
  topic: string[]
  username?: string
  password?: string
  duration?: number
  count?: number
  force?: boolean
}

const printErr = (s: string): void => void process.stderr.write(`${s}\n`)

/** The `record` command. */
export function command(): Command {
  return new Command('record')
    .description('record the telemetry seen on a broker to an NDJSON file (stop with Ctrl-C, --count or --duration)')
    .requiredOption('--broker <url>', 'broker URL, e.g. mqtt://localhost:1883 (credentials here are used, never printed or stored)')
    .requiredOption('--out <file>', 'recording file to create; an existing file is an error unless --force')
    .option('--topic <filter>', `subscription filter, repeatable (default: everything gateways publish: ${defaultFilters().join(' ')})`, collect, [])
    .option('--username <name>', 'MQTT user name')
    .option('--password <password>', `MQTT password (prefer the ${PASSWORD_ENV} environment variable: a command line is visible to other users)`)
    .option('--duration <seconds>', 'stop after this many seconds', positiveNumber)
    .option('--count <n>', 'stop after this many messages', positiveInteger)
    .option('--force', 'overwrite --out if it exists')
    .action(async (opts: RecordOptions) => {
      process.exitCode = await record(opts)
    })
}

async function record(opts: RecordOptions): Promise<number> {
  let target
  try {
    target = brokerTarget(opts)
  } catch (err) {
    printErr(`record: ${(err as Error).message}`)
    return 1
  }
  const recorder = new Recorder({
    broker: target,
    out: opts.out,
    ...(opts.topic.length > 0 ? { filters: opts.topic } : {}),
    ...(opts.count !== undefined ? { maxMessages: opts.count } : {}),
    overwrite: opts.force === true,
    onStatus: (s) => printErr(s === 'offline' ? `record: connection to ${target.url} lost; retrying every second` : `record: reconnected to ${target.url}`),
  })
  const signal = onStopSignal(() => void recorder.stop())
  let timer: NodeJS.Timeout | undefined
  try {
    let header
    try {
      header = await recorder.start()
    } catch (err) {
      printErr(`record: ${err instanceof BrokerError || err instanceof Error ? err.message : String(err)}`)
      return 1
    }
    const limits = [opts.count !== undefined ? `${opts.count} message(s)` : '', opts.duration !== undefined ? `${opts.duration} s` : ''].filter(Boolean)
    printErr(`record: ${target.url} → ${opts.out}, topics ${header.filters.join(' ')}; ${limits.length > 0 ? `until ${limits.join(' or ')}, ` : ''}stop with Ctrl-C`)
    const started = performance.now()
    const duration = new Promise<'duration'>((resolve) => {
      if (opts.duration !== undefined) timer = setTimeout(() => resolve('duration'), opts.duration * 1000)
    })
    const why: RecorderEnd | 'duration' | 'signal' = await Promise.race([recorder.ended, duration, signal.received.then(() => 'signal' as const)])
    const stats = await recorder.stop()
    const invalid = stats.invalid > 0 ? ` (${stats.invalid} invalid, flagged "valid": false)` : ''
    printErr(`record: ${stats.messages} message(s)${invalid} in ${formatDuration(performance.now() - started)} → ${opts.out}`)
    if (typeof why === 'object' && why.reason === 'error') {
      printErr(`record: ${why.error.message}`)
      return 1
    }
    return 0
  } finally {
    if (timer) clearTimeout(timer)
    signal.dispose()
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

function positiveNumber(value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number above 0')
  return n
}

function positiveInteger(value: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('must be a whole number above 0')
  return n
}
