/**
 * `muni edge`: the edge agent. `validate` checks a gateway config, `run` runs the
 * agent on it (edge/agent), `status` asks a running agent's /health. Human output goes to stdout, problems to
 * stderr, --json to stdout; the exit code is 1 whenever the config is invalid.
 * Nothing printed ever contains a secret: the broker is shown as scheme, host
 * and port, and the password only as the name of its environment variable.
 */
import { Command } from 'commander'
import { readAgentState, stateFilePath } from '../agent/state-file.ts'
import { loadConfig, type GatewayConfig } from '../config/load.ts'
import { renderStatus } from '../health/status-text.ts'
import { print, printErr, printIssues } from './output.ts'
import { probeCommand } from './probe.ts'
import { runCommand } from './run.ts'
import { scanCommand } from './scan.ts'

export function command(): Command {
  const edge = new Command('edge').description('the edge agent: validate a gateway config, run the agent, ask it for its status; probe and scan devices')

  edge
    .command('validate')
    .description(
      'check a gateway config: schema, ids, buses, unit ids, profiles, TLS files, buffer folder, environment variables; ' +
        'exit 1 with file:line:column: field: reason for every problem',
    )
    .argument('<file>', 'gateway config (YAML), e.g. /etc/muni/gateway.yaml')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { json?: boolean }) => {
      const { config, issues } = loadConfig(file)
      if (opts.json) print(JSON.stringify(config ? { ok: true, file, ...summary(config), issues } : { ok: false, file, issues }, null, 2))
      else if (config) print(renderSummary(file, config))
      else printIssues(file, issues)
      if (!config) process.exitCode = 1
    })

  edge.addCommand(runCommand())

  edge
    .command('status')
    .description("show a running agent's buses, devices, backlog and last publish (from its /health)")
    .option('--url <url>', 'the agent health endpoint, e.g. http://127.0.0.1:9180')
    .option('--config <file>', 'gateway config whose http.port the agent listens on (port 0: read from the state file beside the buffer)')
    .option('--json', 'print /health as it is')
    .action(async (opts: { url?: string; config?: string; json?: boolean }) => {
      process.exitCode = await status(opts)
    })

  edge.addCommand(probeCommand())
  edge.addCommand(scanCommand())
  return edge
}

async function status(opts: { url?: string; config?: string; json?: boolean }): Promise<number> {
  let base = opts.url
  if (base === undefined) {
    if (opts.config === undefined) {
      printErr('give --url http://127.0.0.1:PORT or --config FILE (its http.port)')
      return 1
    }
    const { config, issues } = loadConfig(opts.config)
    if (!config) {
      printIssues(opts.config, issues)
      return 1
    }
    if (config.http === undefined) {
      printErr(`${opts.config}: no http.port: the agent serves no health endpoint; add http: { port: 9180 }`)
      return 1
    }
    if (config.http.port === 0) {
      // Any free port: the running agent wrote the one it got beside its buffer.
      const path = stateFilePath(config)
      const state = readAgentState(path)
      if (state === undefined) {
        printErr(`${opts.config}: http.port is 0 and there is no ${path}: is \`muni edge run\` running?`)
        return 1
      }
      base = state.health
    } else base = `http://127.0.0.1:${config.http.port}`
  }
  const url = `${base.replace(/\/+$/, '')}/health`
  let body: unknown
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) })
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    body = await res.json()
  } catch (e) {
    const cause = e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e)
    printErr(`cannot reach the edge agent at ${url}: ${cause} (is \`muni edge run\` running?)`)
    return 1
  }
  print(opts.json ? JSON.stringify(body, null, 2) : renderStatus(body as Parameters<typeof renderStatus>[0], Date.now()))
  return 0
}

/** What a field engineer checks after a validate: which gateway, which broker, how many of what. */
function summary(c: GatewayConfig) {
  const byProfile = new Map<string, number>()
  for (const d of c.devices) byProfile.set(d.profile, (byProfile.get(d.profile) ?? 0) + 1)
  return {
    gateway: c.gateway,
    site: c.site,
    broker: {
      // Rebuilt from its parts, never the URL as written.
      url: `${c.broker.scheme}://${c.broker.host}:${c.broker.port}`,
      host: c.broker.host,
      port: c.broker.port,
      tls: c.broker.tls !== undefined,
      clientId: c.broker.clientId,
      username: c.broker.username ?? null,
      passwordEnv: c.broker.passwordEnv ?? null,
    },
    buses: c.buses.length,
    devices: c.devices.length,
    disabled: c.devices.filter((d) => !d.enabled).length,
    devicesByProfile: Object.fromEntries([...byProfile].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
  }
}

function renderSummary(file: string, c: GatewayConfig): string {
  const s = summary(c)
  const auth = s.broker.username === null ? '' : `, user ${s.broker.username}${s.broker.passwordEnv === null ? '' : `, password from $${s.broker.passwordEnv}`}`
  const buses = c.buses.map((b) => `${b.id} (${b.type === 'opcua' ? `opcua ${b.endpoint}` : b.type === 'tcp' ? `tcp ${b.host}:${b.port}` : `rtu ${b.path} ${b.baud} ${b.parity}`})`)
  const profiles = Object.entries(s.devicesByProfile).map(([p, n]) => `${n} ${p}`)
  return [
    `${file}: valid`,
    `gateway  ${s.gateway} (site ${s.site})`,
    `broker   ${s.broker.url}${s.broker.tls ? ' (TLS)' : ''}, client id ${s.broker.clientId}${auth}`,
    `buses    ${s.buses}: ${buses.join(', ')}`,
    `devices  ${s.devices}${s.disabled > 0 ? ` (${s.disabled} disabled)` : ''}: ${profiles.join(', ')}`,
  ].join('\n')
}
