/**
 * `muni edge run --config FILE`: the agent in the foreground until SIGINT/SIGTERM.
 * Kept apart from the other `muni edge` commands because it is also the entry of the
 * agent's precompiled bundle (`agent-entry.ts`, built by `agent-bundle.mjs`): what it
 * imports is what a gateway keeps in memory.
 */
import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { Agent } from '../agent/agent.ts'
import { loadConfig } from '../config/load.ts'
import { print, printIssues } from './output.ts'

export function runCommand(): Command {
  return new Command('run')
    .description('run the edge agent: poll the Modbus and OPC UA devices, keep readings in the outbox, publish them over MQTT; SIGINT/SIGTERM stop it cleanly')
    .requiredOption('--config <file>', 'gateway config (YAML), e.g. /etc/muni/gateway.yaml')
    .action(async (opts: { config: string }) => {
      process.exitCode = await run(opts.config)
    })
}

async function run(file: string): Promise<number> {
  const { config, issues } = loadConfig(file)
  if (!config) {
    printIssues(file, issues)
    return 1
  }
  const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${line}\n`)
  const agent = new Agent(config, { log, version: agentVersion() })
  let stopping: Promise<void> | undefined
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log(`${signal} again: exiting now`)
        process.exit(1)
      }
      log(`${signal}: stopping`)
      stopping = agent.stop().then(resolve)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  log(`gateway ${config.gateway} (site ${config.site}), config ${file}`)
  try {
    await agent.start()
  } catch (e) {
    log(`cannot start: ${e instanceof Error ? e.message : String(e)}`)
    return 1
  }
  if (agent.httpPort !== undefined) print(`health http://127.0.0.1:${agent.httpPort}`)
  await stopped
  // Whatever a library left open must not keep a stopped agent alive.
  setTimeout(() => process.exit(0), 2_000).unref()
  return 0
}

function agentVersion(): string {
  try {
    // Two folders below the package root, as the bundle is (agent-bundle.mjs).
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return '0.0.0'
  }
}
