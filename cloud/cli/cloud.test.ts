import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { muni } from '../../edge/cli/test-support/run-muni.ts'
import { loadCredentials } from '../broker/credentials.ts'
import { openTokenStore } from '../api/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'muni-cloud-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('muni cloud init', () => {
  it('writes a deployment: config that validates, hashed credentials per gateway, passwords only in a mode-600 file, and an admin token', async () => {
    const root = join(dir, 'deploy')
    const r = await muni('cloud', 'init', root, '--gateway', 'north/gw-1', '--gateway', 'north/gw-2', '--json')
    expect(r.code, r.err).toBe(0)
    const made = JSON.parse(r.out) as { config: string; token: string; passwords: Record<string, string> }
    expect(Object.keys(made.passwords).sort()).toEqual(['gw-1', 'gw-2'])
    const creds = loadCredentials(join(root, 'credentials.yaml'))
    expect(creds.issues).toEqual([])
    expect([...(creds.credentials?.keys() ?? [])].sort()).toEqual(['gw-1', 'gw-2', 'muni-cloud'])
    const credText = readFileSync(join(root, 'credentials.yaml'), 'utf8')
    for (const p of Object.values(made.passwords)) expect(credText).not.toContain(p)
    expect(statSync(join(root, 'passwords.env')).mode & 0o777).toBe(0o600)
    expect(statSync(join(root, 'credentials.yaml')).mode & 0o777).toBe(0o600)
    const tokens = openTokenStore(join(root, 'data', 'tokens.sqlite'))
    expect(tokens.verify(made.token)).toMatchObject({ role: 'admin' })
    tokens.close()
    expect((await muni('cloud', 'validate', made.config)).code).toBe(0)
    // Never over an existing deployment.
    const again = await muni('cloud', 'init', root, '--gateway', 'north/gw-1')
    expect(again.code).toBe(1)
    expect(again.err).toMatch(/exists; init never overwrites/)
  }, 30_000)

  it('refuses a gateway that is not SITE/GATEWAY', async () => {
    const r = await muni('cloud', 'init', join(dir, 'x'), '--gateway', 'gw-1')
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/--gateway gw-1: expected SITE\/GATEWAY/)
  })
})

describe('muni cloud validate', () => {
  it('prints every problem as file:line:column: field: reason and exits 1', async () => {
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, 'api:\n  port: -1\n')
    const r = await muni('cloud', 'validate', file)
    expect(r.code).toBe(1)
    expect(r.err).toBe(`${file}:2:9: api.port: must be >= 0\n1 problem(s) in ${file}\n`)
  })

  it('checks the alarm rules file the config names, with file:line:column', async () => {
    const file = join(dir, 'alarms.yaml')
    const rules = join(dir, 'rules.yaml')
    writeFileSync(file, 'broker: { mode: embedded, allowAnonymous: true }\nalarms:\n  rules: rules.yaml\n')
    writeFileSync(rules, 'overrides:\n  - match: { site: a, asset: b }\n    disable: [stale]\n')
    const bad = await muni('cloud', 'validate', file)
    expect(bad.code).toBe(1)
    expect(bad.err).toMatch(/rules\.yaml:2:\d+: overrides\[0\]\.match: needs exactly one of site, asset, device\n/)
    writeFileSync(rules, 'overrides:\n  - match: { site: a }\n    disable: [stale]\n')
    const good = await muni('cloud', 'validate', file)
    expect(good.code, good.err).toBe(0)
    expect(good.out).toMatch(/alarms from \d+ profile\(s\) \+ .*rules\.yaml/)
  })
})

describe('muni cloud token', () => {
  it('creates (shown once), lists without secrets, and revokes', async () => {
    const data = join(dir, 'tok')
    const c = await muni('cloud', 'token', 'create', '--data', data, '--name', 'control room', '--role', 'operator')
    expect(c.code, c.err).toBe(0)
    const token = c.out.trim()
    expect(token).toMatch(/^muni_/)
    const list = await muni('cloud', 'token', 'list', '--data', data)
    expect(list.out).toMatch(/\toperator\tcontrol room\n$/)
    expect(list.out).not.toContain(token)
    const id = list.out.split('\t')[0] as string
    expect((await muni('cloud', 'token', 'revoke', id, '--data', data)).code).toBe(0)
    const store = openTokenStore(join(data, 'tokens.sqlite'))
    expect(store.verify(token)).toBeUndefined()
    store.close()
    expect((await muni('cloud', 'token', 'revoke', 'nope', '--data', data)).code).toBe(1)
  })
})
