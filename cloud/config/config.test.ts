import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { formatIssue } from '../../shared/yaml/issue.ts'
import { loadCloudConfig } from './config.ts'

const dir = mkdtempSync(join(tmpdir(), 'muni-cloud-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function load(name: string, text: string, env: Record<string, string> = {}): { lines: string[]; config: ReturnType<typeof loadCloudConfig>['config'] } {
  const file = join(dir, name)
  writeFileSync(file, text)
  const r = loadCloudConfig(file, env)
  return { lines: r.issues.map((i) => formatIssue(i).replace(`${dir}/`, '')), config: r.config }
}

describe('cloud config', () => {
  it('runs on embedded defaults without a file when the environment allows it: SQLite, or InfluxDB from MUNI_INFLUX_URL', () => {
    expect(loadCloudConfig(undefined, {}).issues.map(formatIssue)).toEqual([
      '(environment):0:0: broker: the embedded broker needs a credentials file (broker.credentials) or, for development only, allowAnonymous: true',
    ])
    const { config } = load('influx.yaml', 'broker: { mode: embedded, allowAnonymous: true }\n', { MUNI_INFLUX_URL: 'http://127.0.0.1:8086', MUNI_INFLUX_PASSWORD: 'secret' })
    expect(config?.storage).toEqual({ kind: 'influxdb1', url: 'http://127.0.0.1:8086', database: 'muni', password: 'secret' })
    expect(load('v2.yaml', 'broker: { mode: embedded, allowAnonymous: true }\n', { MUNI_INFLUX_URL: 'https://x', MUNI_INFLUX_TOKEN: 't' }).config?.storage).toMatchObject({ kind: 'influxdb2', org: 'muni', bucket: 'muni', token: 't' })
  })

  it('resolves paths against the file and secrets from the environment', () => {
    const { config, lines } = load('ok.yaml', ['dataDir: state', 'broker:', '  mode: embedded', '  credentials: creds.yaml', 'storage:', '  kind: influxdb1', '  url: http://db:8086', '  passwordEnv: DB_PW', 'api: { port: 9000 }'].join('\n'), { DB_PW: 'pw' })
    expect(lines).toEqual([])
    expect(config).toMatchObject({
      dataDir: join(dir, 'state'),
      broker: { mode: 'embedded', host: '127.0.0.1', port: 1883, credentials: join(dir, 'creds.yaml'), allowAnonymous: false },
      storage: { kind: 'influxdb1', url: 'http://db:8086', database: 'muni', password: 'pw' },
      api: { host: '127.0.0.1', port: 9000 },
    })
  })

  it('reports every problem as file:line:column: field: reason', () => {
    const text = ['dataDir: 7', 'broker:', '  mode: external', '  url: http://broker', '  connections: 0', 'storage:', '  kind: influxdb2', '  url: http://x', 'api: { port: 70000, tls: true }', 'extra: 1'].join('\n')
    expect(load('bad.yaml', text).lines).toEqual([
      'bad.yaml:1:10: dataDir: must be string',
      'bad.yaml:4:8: broker.url: must match pattern "^(mqtts?|wss?)://"',
      'bad.yaml:5:16: broker.connections: must be >= 1',
      'bad.yaml:7:3: storage.bucket: is required',
      'bad.yaml:7:3: storage.org: is required',
      'bad.yaml:7:3: storage.tokenEnv: is required',
      'bad.yaml:9:14: api.port: must be <= 65535',
      'bad.yaml:9:21: api.tls: unknown field',
      'bad.yaml:10:1: extra: unknown field',
    ])
  })

  it('reads alarms: on by default; rules file and profile folders resolved against the file; webhook secrets from the environment, checked', () => {
    expect(load('a0.yaml', 'broker: { mode: embedded, allowAnonymous: true }\n').config?.alarms).toEqual({ enabled: true, tickMs: 1000, webhooks: [] })
    const text = [
      'broker: { mode: embedded, allowAnonymous: true }',
      'alarms:',
      '  rules: rules.yaml',
      '  profiles: [profiles]',
      '  tickS: 0.5',
      '  webhooks:',
      '    - { name: control-room, url: https://cr.example/hook, secretEnv: CR_SECRET, minSeverity: major }',
      '    - { name: control-room, url: https://other.example/hook, secretEnv: OTHER_SECRET }',
    ].join('\n')
    const bad = load('a1.yaml', text, { CR_SECRET: 's3cret' })
    expect(bad.lines).toEqual([
      'a1.yaml:8:73: alarms.webhooks[1].secretEnv: environment variable OTHER_SECRET is not set',
      'a1.yaml:7:70: alarms.webhooks[0].secretEnv: the secret in CR_SECRET is shorter than 16 characters',
      'a1.yaml:8:15: alarms.webhooks[1].name: duplicate webhook name control-room',
    ])
    expect(bad.lines.join('\n')).not.toContain('s3cret')
    const good = load('a2.yaml', text.replace(/name: control-room, url: https:\/\/other/, 'name: gis, url: https://other'), { CR_SECRET: 's3cret-s3cret-s3cret', OTHER_SECRET: 'x'.repeat(16) })
    expect(good.config?.alarms).toEqual({
      enabled: true,
      rulesFile: join(dir, 'rules.yaml'),
      profileDirs: [join(dir, 'profiles')],
      tickMs: 500,
      webhooks: [
        { name: 'control-room', url: 'https://cr.example/hook', secret: 's3cret-s3cret-s3cret', minSeverity: 'major' },
        { name: 'gis', url: 'https://other.example/hook', secret: 'x'.repeat(16) },
      ],
    })
  })

  it('names the environment variable that is missing, never a value', () => {
    const { lines } = load('env.yaml', ['broker:', '  mode: external', '  url: mqtts://broker:8883', '  username: cloud', '  passwordEnv: MQTT_PW'].join('\n'), {})
    expect(lines).toEqual(['env.yaml:5:16: broker.passwordEnv: environment variable MQTT_PW is not set'])
  })

  it('refuses YAML anchors and duplicate keys, and a file that is not there', () => {
    expect(load('dup.yaml', 'api: { port: 1 }\napi: { port: 2 }\n').lines[0]).toMatch(/^dup\.yaml:2:1: .*duplicate/i)
    expect(loadCloudConfig(join(dir, 'nope.yaml')).issues.map((i) => i.reason)).toEqual(['no such file'])
  })
})
