/**
 * SIGINT/SIGTERM handling for the long-running `record` and `replay` commands: the first
 * signal asks for a clean stop (flush the recording, wait for acknowledgements); a second
 * one, while that stop hangs, exits at once. Handlers are removed by `dispose()`, so the
 * commands can run in-process (tests, `main()`) without leaking listeners.
 */

/** The stop signals handled. */
export type StopSignal = 'SIGINT' | 'SIGTERM'

/** A subscription to the stop signals. */
export interface StopSignalHandle {
  /** Resolves with the first signal received. */
  readonly received: Promise<StopSignal>
  /** The first signal received, if any. */
  readonly signal: StopSignal | undefined
  /** Removes the handlers. */
  dispose(): void
}

/** Exit code of a process ended by `signal` (128 + its number), as shells report it. */
export function signalExitCode(signal: StopSignal): number {
  return signal === 'SIGINT' ? 130 : 143
}

/** Calls `stop` on the first SIGINT or SIGTERM; exits with 128+n on a second one. */
export function onStopSignal(stop: (signal: StopSignal) => void): StopSignalHandle {
  let first: StopSignal | undefined
  let resolve: (s: StopSignal) => void = () => {}
  const received = new Promise<StopSignal>((r) => (resolve = r))
  const handler = (signal: StopSignal): void => {
    if (first !== undefined) {
      process.stderr.write(`${signal} again: exiting without a clean stop\n`)
      process.exit(signalExitCode(signal))
    }
    first = signal
    stop(signal)
    resolve(signal)
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return {
    received,
    get signal() {
      return first
    },
    dispose() {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
    },
  }
}
