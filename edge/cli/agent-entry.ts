/**
 * Entry point of the agent's precompiled bundle (`agent-bundle.mjs`): `muni edge run …`
 * as plain JavaScript, without tsx's loader and TypeScript transform in the process.
 */
import { parseToExitCode } from './exit-code.ts'
import { runCommand } from './run.ts'

/** `argv` as `muni` got it: `edge run --config FILE`. */
export function main(argv: readonly string[]): Promise<number> {
  return parseToExitCode(runCommand(), argv.slice(2))
}
