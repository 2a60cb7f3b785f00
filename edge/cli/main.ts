/**
 * `muni`: one command for every side. Subcommands are declared in package.json
 * (`muni.commands`: name → module + summary) and loaded only when used, so
 * `muni --help` stays fast and no side's code is imported by another's: each
 * command module exports `command(): Command` (commander).
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Command } from 'commander'
import { parseToExitCode } from './exit-code.ts'

export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

interface CommandEntry {
  module: string
  summary: string
}
interface PackageJson {
  version: string
  muni: { commands: Record<string, CommandEntry> }
}

const pkg = createRequire(import.meta.url)('../../package.json') as PackageJson

/** A command module: `command()` builds its commander tree; actions set process.exitCode. */
export interface CommandModule {
  command(): Command
}

/** Runs `muni` with the given arguments (without node and script) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('muni')
    .description('muni-iot: smart municipal infrastructure — edge agent, simulators, cloud')
    .version(pkg.version)
    .showSuggestionAfterError(true)
    .exitOverride()
  const name = argv.find((a) => !a.startsWith('-'))
  const entries = Object.entries(pkg.muni.commands)
  const chosen = name === undefined ? undefined : pkg.muni.commands[name]
  for (const [cmd, entry] of entries) {
    if (chosen && cmd === name) {
      const mod = (await import(pathToFileURL(join(PACKAGE_ROOT, entry.module)).href)) as CommandModule
      program.addCommand(mod.command())
    } else {
      // Declared only, for help and suggestions; its module is not loaded.
      program.command(cmd).summary(entry.summary).description(entry.summary)
    }
  }
  return parseToExitCode(program, argv)
}
