/**
 * `muni edge`: the edge agent. Today it validates a gateway config; the agent's
 * own commands come with the agent. Human output goes to stdout, problems to
 * stderr, --json to stdout; the exit code is 1 whenever the config is invalid.
 * Nothing printed ever contains a secret: the broker is shown as scheme, host
 * and port, and the password only as the name of its environment variable.
 */
import { Command } from 'commander'
import { formatIssue, type SourceIssue } from '../../shared/yaml/issue.ts'
import { loadConfig, type GatewayConfig } from '../config/load.ts'

const print = (s: string): void => void process.stdout.write(`${s}\n`)
const printErr = (s: string): void => void process.stderr.write(`${s}\n`)

export function command(): Command {
  const edge = new Command('edge').description('the edge agent: validate a gateway config')

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
      else {
        for (const i of issues) printErr(issueLine(i))
        printErr(`${issues.length} problem(s) in ${file}`)
      }
      if (!config) process.exitCode = 1
    })

  return edge
}

/** An issue as one line; a file that cannot be read has no position. */
function issueLine(i: SourceIssue): string {
  return i.line > 0 ? formatIssue(i) : `${i.file}: ${i.reason}`
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
  const buses = c.buses.map((b) => (b.type === 'tcp' ? `${b.id} (tcp ${b.host}:${b.port})` : `${b.id} (rtu ${b.path} ${b.baud} ${b.parity})`))
  const profiles = Object.entries(s.devicesByProfile).map(([p, n]) => `${n} ${p}`)
  return [
    `${file}: valid`,
    `gateway  ${s.gateway} (site ${s.site})`,
    `broker   ${s.broker.url}${s.broker.tls ? ' (TLS)' : ''}, client id ${s.broker.clientId}${auth}`,
    `buses    ${s.buses}: ${buses.join(', ')}`,
    `devices  ${s.devices}${s.disabled > 0 ? ` (${s.disabled} disabled)` : ''}: ${profiles.join(', ')}`,
  ].join('\n')
}
