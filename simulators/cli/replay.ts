/**
 * `muni replay FILE`: republishes a recording (simulators/replay/format.ts) with its
 * original timing, `--speed N` times faster, or `--fast`. Progress goes to stderr: a bar on
 * a terminal, plain lines otherwise. Exit code 0 when every message was acknowledged (or
 * a `--loop` was stopped), 1 for a bad file or broker, 130/143 when stopped by
 * SIGINT/SIGTERM before the end.
 */
import { Command, InvalidArgumentError, Option } from 'commander'
import { brokerTarget, PASSWORD_ENV } from '../replay/connect.ts'
import { RecordingError } from '../replay/format.ts'
import type { Pace } from '../replay/pace.ts'
import { createProgressDisplay, formatDuration } from '../replay/progress.ts'
import { Replayer } from '../replay/replayer.ts'
import { onStopSignal, signalExitCode } from '../replay/signals.ts'

interface ReplayOptions {
  broker: string
  speed?: number
  fast?: boolean
  loop?: boolean
  withCommands?: boolean
  username?: string
  password?: string
}

const printErr = (s: string): void => void process.stderr.write(`${s}\n`)

/** A RecordingError is printed as `file:line: reason`, like a compiler; anything else after `replay: `. */
const problem = (err: unknown): string => (err instanceof RecordingError ? err.message : `replay: ${err instanceof Error ? err.message : String(err)}`)

/** The `replay` command. */
export function command(): Command {
  return new Command('replay')
    .description('republish a recording with its original timing (or --speed N / --fast)')
    .argument('<file>', 'a recording made by `muni record`')
    .requiredOption('--broker <url>', 'broker URL, e.g. mqtt://localhost:1883 (credentials here are used, never printed)')
    .addOption(new Option('--speed <n>', 'replay N times faster than recorded (0.5: half speed)').argParser(positiveNumber).conflicts('fast'))
    .addOption(new Option('--fast', 'ignore the timing: publish as fast as the broker acknowledges').conflicts('speed'))
    .option('--loop', 'start over after the last message, until Ctrl-C')
    .option('--with-commands', 'also replay messages on command topics (requests to gateways: they may operate real devices)')
    .option('--username <name>', 'MQTT user name')
    .option('--password <password>', `MQTT password (prefer the ${PASSWORD_ENV} environment variable)`)
    .action(async (file: string, opts: ReplayOptions) => {
      process.exitCode = await replay(file, opts)
    })
}

async function replay(file: string, opts: ReplayOptions): Promise<number> {
  let target
  try {
    target = brokerTarget(opts)
  } catch (err) {
    printErr(problem(err))
    return 1
  }
  const pace: Pace = opts.fast ? { mode: 'fast' } : { mode: 'timed', speed: opts.speed ?? 1 }
  const display = createProgressDisplay()
  const replayer = new Replayer({
    file,
    broker: target,
    pace,
    loop: opts.loop === true,
    allowCommands: opts.withCommands === true,
    onProgress: (p) => display.update(p),
  })
  const signal = onStopSignal(() => void replayer.stop())
  try {
    try {
      const scan = await replayer.start()
      const how = pace.mode === 'fast' ? 'as fast as acknowledged' : `at ${pace.speed}× speed (recorded over ${formatDuration(scan.lastT - scan.firstT)})`
      printErr(`replay: ${scan.messages} message(s) from ${file} to ${target.url} ${how}${opts.loop ? ', looping until Ctrl-C' : ''}`)
    } catch (err) {
      printErr(problem(err))
      return 1
    }
    const summary = await replayer.done
    display.finish(summary, target.url)
    if (summary.outcome === 'failed') {
      printErr(problem(summary.error))
      return 1
    }
    if (summary.outcome === 'stopped' && !opts.loop && signal.signal) return signalExitCode(signal.signal)
    return 0
  } finally {
    signal.dispose()
  }
}

function positiveNumber(value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number above 0')
  return n
}
