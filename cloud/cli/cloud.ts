/**
 * `muni cloud`: run the cloud service, check its config, set up a deployment, manage API
 * tokens, hash broker passwords. Nothing printed contains a secret except what a command
 * exists to show once (a new token, the passwords `init` generates into a mode-600 file).
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { stringify } from 'yaml'
import { formatIssue, type SourceIssue } from '../../shared/yaml/issue.ts'
import { isValidId } from '../../shared/mqtt/topics.ts'
import { openTokenStore, ROLES, type Role } from '../api/index.ts'
import { hashPassword } from '../broker/password.ts'
import { hashPasswordCli } from '../broker/hash-password-cli.ts'
import { loadRuleSet } from '../alarms/load.ts'
import { DEFAULT_ALARMS, loadCloudConfig, type CloudConfig } from '../config/config.ts'
import { Cloud } from '../service.ts'

const print = (s: string): void => void process.stdout.write(`${s}\n`)
const printErr = (s: string): void => void process.stderr.write(`${s}\n`)
const printIssues = (file: string, issues: readonly SourceIssue[]): void => {
  for (const i of issues) printErr(formatIssue(i))
  printErr(`${issues.length} problem(s) in ${file}`)
}

export function command(): Command {
  const cloud = new Command('cloud').description('the cloud service: MQTT broker (or external broker consumer), ingest, storage, registry and HTTP API')

  cloud
    .command('run')
    .description('run the cloud service in the foreground; SIGINT/SIGTERM stop it cleanly, SIGHUP reloads the alarm rules')
    .option('--config <file>', 'cloud config (YAML); without it: embedded broker, SQLite storage and the API on 127.0.0.1, data in ./muni-data')
    .option('--init <dir>', 'first set up a deployment in DIR as `muni cloud init` does (with --gateway), unless DIR has one; then run it')
    .option('--gateway <site/gateway...>', 'with --init: a gateway to create credentials for (repeatable)')
    .option('--rules <file>', 'with --init: the alarm rules file the new cloud.yaml names (alarms.rules; relative to DIR)')
    .option('--data <dir>', 'data folder (overrides dataDir)')
    .option('--mqtt-port <n>', 'embedded broker port (0: a free port)', parsePort)
    .option('--api-port <n>', 'API port (0: a free port)', parsePort)
    .option('--ready-json', 'print one JSON line with the endpoints once started (for scripts); with --init, first one with what init made')
    .action(async (opts: { config?: string; init?: string; gateway?: string[]; rules?: string; data?: string; mqttPort?: number; apiPort?: number; readyJson?: boolean }) => {
      let file = opts.config
      if (opts.init !== undefined) {
        file = join(resolve(opts.init), 'cloud.yaml')
        if (!existsSync(file)) {
          const code = await init(opts.init, { gateway: opts.gateway ?? [], json: opts.readyJson === true, event: true, ...ports(opts), ...(opts.rules !== undefined ? { rules: opts.rules } : {}) })
          if (code !== 0) {
            process.exitCode = code
            return
          }
        }
      }
      const loaded = loadCloudConfig(file)
      if (!loaded.config) {
        printIssues(file ?? '(defaults)', loaded.issues)
        process.exitCode = 1
        return
      }
      process.exitCode = await run(override(loaded.config, opts), opts.readyJson === true)
    })

  cloud
    .command('validate')
    .description('check a cloud config; every problem as file:line:column: field: reason')
    .argument('<file>', 'cloud config (YAML)')
    .action((file: string) => {
      const { config, issues } = loadCloudConfig(file)
      if (!config) {
        printIssues(file, issues)
        process.exitCode = 1
        return
      }
      const a = config.alarms ?? DEFAULT_ALARMS
      let alarms = 'alarms off'
      if (a.enabled) {
        const rules = loadRuleSet({ ...(a.profileDirs ? { profileDirs: a.profileDirs } : {}), ...(a.rulesFile ? { rulesFile: a.rulesFile } : {}) })
        if (!rules.rules) {
          printIssues(a.rulesFile ?? 'alarm rules', rules.issues)
          process.exitCode = 1
          return
        }
        alarms = `alarms from ${rules.profiles} profile(s)${a.rulesFile ? ` + ${a.rulesFile}` : ''}${a.webhooks.length ? `, ${a.webhooks.length} webhook(s)` : ''}`
      }
      print(`${file}: ok — broker ${config.broker.mode}, storage ${config.storage.kind}, API ${config.api.host}:${config.api.port}, data ${config.dataDir}, ${alarms}`)
    })

  cloud
    .command('init')
    .description('set up a deployment folder: cloud.yaml, broker credentials for each gateway, their passwords (mode 600), and an admin API token')
    .argument('<dir>', 'folder to create (must not hold a cloud.yaml yet)')
    .requiredOption('--gateway <site/gateway...>', 'a gateway to create credentials for (repeatable)')
    .option('--mqtt-port <n>', 'embedded broker port', parsePort)
    .option('--api-port <n>', 'API port', parsePort)
    .option('--rules <file>', 'the alarm rules file cloud.yaml names (alarms.rules; relative to DIR)')
    .option('--json', 'print what was made as JSON (includes the token and passwords)')
    .action(async (dir: string, opts: { gateway: string[]; rules?: string; mqttPort?: number; apiPort?: number; json?: boolean }) => {
      process.exitCode = await init(dir, opts)
    })

  const token = cloud.command('token').description('API tokens: create (shown once), list, revoke')
  token
    .command('create')
    .description('create a token and print it (only this once); it is stored hashed')
    .option('--data <dir>', 'data folder', 'muni-data')
    .requiredOption('--name <name>', 'who or what the token is for')
    .addOption(new Option('--role <role>', 'what it may do').choices(ROLES).default('viewer'))
    .action((opts: { data: string; name: string; role: Role }) =>
      withTokens(opts.data, true, (store) => {
        const t = store.create(opts.name, opts.role)
        print(t.token)
        printErr(`token ${t.id} (${opts.role}) for ${opts.name}; it is shown only this once`)
      }),
    )
  token
    .command('list')
    .description('list tokens: id, role, name (never the token)')
    .option('--data <dir>', 'data folder', 'muni-data')
    .action((opts: { data: string }) =>
      withTokens(opts.data, false, (store) => {
        for (const t of store.list()) print(`${t.id}\t${t.role}\t${t.name}${t.revokedAt !== undefined ? '\t(revoked)' : ''}`)
      }),
    )
  token
    .command('revoke')
    .description('revoke a token by id; it stops working at once')
    .argument('<id>')
    .option('--data <dir>', 'data folder', 'muni-data')
    .action((id: string, opts: { data: string }) =>
      withTokens(opts.data, false, (store) => {
        if (!store.revoke(id)) {
          printErr(`no active token ${id}`)
          process.exitCode = 1
        }
      }),
    )

  cloud
    .command('hash-password')
    .description('read a password on stdin, print its scrypt hash for the credentials file')
    .action(async () => {
      process.exitCode = await hashPasswordCli(process.stdin, process.stdout, process.stderr)
    })

  return cloud
}

/** Opens the token store of a data folder (creating the folder only for `create`). */
function withTokens(data: string, create: boolean, f: (store: ReturnType<typeof openTokenStore>) => void): void {
  const folder = resolve(data)
  if (create) mkdirSync(folder, { recursive: true })
  else if (!existsSync(join(folder, 'tokens.sqlite'))) {
    printErr(`no tokens in ${folder} (no tokens.sqlite); is --data the cloud's data folder?`)
    process.exitCode = 1
    return
  }
  const store = openTokenStore(join(folder, 'tokens.sqlite'))
  try {
    f(store)
  } finally {
    store.close()
  }
}

function parsePort(v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`not a port: ${v}`)
  return n
}

function override(c: CloudConfig, o: { data?: string; mqttPort?: number; apiPort?: number }): CloudConfig {
  const dataDir = o.data !== undefined ? resolve(o.data) : c.dataDir
  return {
    ...c,
    dataDir,
    storage: c.storage.kind === 'sqlite' && o.data !== undefined ? { kind: 'sqlite', path: join(dataDir, 'telemetry.sqlite') } : c.storage,
    broker: c.broker.mode === 'embedded' && o.mqttPort !== undefined ? { ...c.broker, port: o.mqttPort } : c.broker,
    api: o.apiPort !== undefined ? { ...c.api, port: o.apiPort } : c.api,
  }
}

async function run(config: CloudConfig, readyJson: boolean): Promise<number> {
  const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${line}\n`)
  const cloud = new Cloud(config, { log })
  let stopping: Promise<void> | undefined
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log(`${signal} again: exiting now`)
        process.exit(1)
      }
      log(`${signal}: stopping`)
      stopping = cloud.stop().then(resolve)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    // SIGHUP: read the profiles and the rules file again; on errors the running rules stay (logged).
    process.on('SIGHUP', () => {
      log('SIGHUP: reloading the alarm rules')
      cloud.reloadRules()
    })
  })
  const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`
  if (!flags.includes('--max-semi-space-size')) {
    log('tip: NODE_OPTIONS=--max-semi-space-size=32 gives ingest a larger young generation: ~10 % less CPU per reading at high rates (cloud/README.md)')
  }
  try {
    const endpoints = await cloud.start()
    await cloud.ready()
    if (readyJson) print(JSON.stringify({ event: 'ready', ...endpoints, storage: cloud.store.name, dataDir: config.dataDir }))
    else print(`API ${endpoints.api}${endpoints.mqtt ? `  MQTT ${endpoints.mqtt}` : ''}`)
  } catch (e) {
    log(`cannot start: ${e instanceof Error ? e.message : String(e)}`)
    return 1
  }
  await stopped
  setTimeout(() => process.exit(0), 2_000).unref()
  return 0
}

function ports(o: { mqttPort?: number; apiPort?: number }): { mqttPort?: number; apiPort?: number } {
  return { ...(o.mqttPort !== undefined ? { mqttPort: o.mqttPort } : {}), ...(o.apiPort !== undefined ? { apiPort: o.apiPort } : {}) }
}

async function init(dir: string, o: { gateway: string[]; rules?: string; mqttPort?: number; apiPort?: number; json?: boolean; event?: boolean }): Promise<number> {
  const gateways: Array<{ site: string; gateway: string }> = []
  for (const g of o.gateway) {
    const [site, gateway, ...rest] = g.split('/')
    if (!isValidId(site) || !isValidId(gateway) || rest.length > 0) {
      printErr(`--gateway ${g}: expected SITE/GATEWAY, each 1–64 letters, digits, _ or -`)
      return 2
    }
    gateways.push({ site, gateway })
  }
  const root = resolve(dir)
  if (existsSync(join(root, 'cloud.yaml'))) {
    printErr(`${join(root, 'cloud.yaml')} exists; init never overwrites a deployment`)
    return 1
  }
  mkdirSync(join(root, 'data'), { recursive: true })
  const passwords: Record<string, string> = {}
  const cloudPassword = randomBytes(18).toString('base64url')
  const entries: Array<Record<string, string>> = [{ username: 'muni-cloud', role: 'cloud', passwordHash: await hashPassword(cloudPassword) }]
  for (const g of gateways) {
    passwords[g.gateway] = randomBytes(18).toString('base64url')
    entries.push({ username: g.gateway, role: 'gateway', site: g.site, gateway: g.gateway, passwordHash: await hashPassword(passwords[g.gateway] as string) })
  }
  writeFileSync(join(root, 'credentials.yaml'), `# Broker credentials (scrypt hashes). Add one with: muni cloud hash-password\n${stringify(entries)}`, { mode: 0o600 })
  const secrets = [`MUNI_CLOUD_BROKER_PASSWORD=${cloudPassword}`, ...gateways.map((g) => `MUNI_BROKER_PASSWORD_${envName(g.gateway)}=${passwords[g.gateway]}`)].join('\n')
  writeFileSync(join(root, 'passwords.env'), `# Plain passwords: give each gateway its own, then delete this file.\n${secrets}\n`, { mode: 0o600 })
  chmodSync(join(root, 'passwords.env'), 0o600)
  const config = {
    dataDir: 'data',
    broker: { mode: 'embedded', host: '127.0.0.1', port: o.mqttPort ?? 1883, credentials: 'credentials.yaml' },
    api: { host: '127.0.0.1', port: o.apiPort ?? 8080 },
    ...(o.rules !== undefined ? { alarms: { rules: o.rules } } : {}),
  }
  const storageNote = [
    '# storage: without it, readings go to SQLite under dataDir, or to InfluxDB when',
    '# MUNI_INFLUX_URL is set. To pin it here:',
    '#   storage: { kind: influxdb1, url: http://127.0.0.1:8086, database: muni }',
    '#   storage: { kind: influxdb2, url: https://…, org: city, bucket: muni, tokenEnv: MUNI_INFLUX_TOKEN }',
  ].join('\n')
  writeFileSync(join(root, 'cloud.yaml'), `# muni cloud config (muni cloud validate ${join(dir, 'cloud.yaml')})\n${stringify(config)}${storageNote}\n`)
  const tokens = openTokenStore(join(root, 'data', 'tokens.sqlite'))
  const admin = tokens.create('admin (muni cloud init)', 'admin')
  tokens.close()
  if (o.json) {
    print(JSON.stringify({ ...(o.event ? { event: 'init' } : {}), dir: root, config: join(root, 'cloud.yaml'), token: admin.token, passwords, cloudPassword }))
  } else {
    print(`${root}/cloud.yaml, credentials.yaml, passwords.env (mode 600) written`)
    print(`admin API token (shown once): ${admin.token}`)
  }
  return 0
}

/** `gw-guangqumen` → `GW_GUANGQUMEN`. */
export function envName(id: string): string {
  return id.toUpperCase().replace(/[^A-Z0-9]/g, '_')
}
