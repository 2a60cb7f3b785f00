/**
 * The `muni` command as a user meets it: the real bin through npx, --help on every
 * subcommand, exit codes, and the exact file:line:column: field: reason lines.
 */
import { execFile } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { decode, topics } from '../../shared/mqtt/index.ts'
import { PACKAGE_ROOT } from './main.ts'
import { muni } from './test-support/run-muni.ts'

const run = promisify(execFile)


const cwd = process.cwd()
beforeEach(() => process.chdir(PACKAGE_ROOT))
afterEach(() => {
  process.chdir(cwd)
  process.exitCode = undefined
})

describe('muni', () => {
  it('runs as `npx muni` from the package (the bin declared in package.json)', async () => {
    const { stdout } = await run('npx', ['--no-install', 'muni', 'profiles', 'list', '--json'], { cwd: PACKAGE_ROOT, timeout: 60_000 })
    const list = JSON.parse(stdout) as { id: string }[]
    expect(list.map((p) => p.id)).toContain('cividrain-mc200@1.4')
  }, 60_000)

  it('has --help on every command and subcommand', async () => {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { muni: { commands: Record<string, unknown> } }
    const top = await muni('--help')
    expect(top.code).toBe(0)
    // Walk the tree: every command listed under "Commands:" of a help page has its own help page.
    const subcommands = (help: string): string[] =>
      [...(help.split(/^Commands:$/m)[1] ?? '').matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1] ?? '').filter((c) => c !== 'help')
    expect(subcommands(top.out).sort()).toEqual(Object.keys(pkg.muni.commands).sort())
    const seen: string[] = []
    const visit = async (argv: string[]): Promise<void> => {
      const r = await muni(...argv, '--help')
      expect(r.code, argv.join(' ')).toBe(0)
      expect(r.out).toContain(`Usage: muni ${argv.join(' ')}`)
      seen.push(argv.join(' '))
      for (const sub of subcommands(r.out)) await visit([...argv, sub])
    }
    for (const name of subcommands(top.out)) await visit([name])
    expect(seen).toEqual(expect.arrayContaining(['profiles validate', 'edge probe', 'edge scan', 'edge run', 'edge status', 'sim', 'record', 'replay', 'demo']))
  }, 60_000)

  it('refuses an unknown command with a suggestion and exit 1', async () => {
    const r = await muni('profile')
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/unknown command 'profile'[\s\S]*Did you mean profiles\?/)
  })
})

describe('muni profiles validate', () => {
  it('passes on every shipped profile', async () => {
    const r = await muni('profiles', 'validate')
    const files = readdirSync(join(PACKAGE_ROOT, 'firmware-profiles'), { recursive: true }).filter((f) => String(f).endsWith('.yaml'))
    expect(r).toMatchObject({ code: 0, err: '' })
    expect(r.out).toBe(`${files.length} profile file(s) valid\n`)
  })

  it('fails with every problem of a broken file as file:line:column: field: reason', async () => {
    const r = await muni('profiles', 'validate', 'edge/cli/__fixtures__/profiles')
    expect(r.code).toBe(1)
    const f = 'edge/cli/__fixtures__/profiles/water-level/acme-wl1@1.0.yaml'
    expect(r.err.split('\n')).toEqual([
      `${f}:14:11: points[1].name: "level" is already the name of points[0]`,
      `${f}:19:16: points[1].registers: float32 is 2 registers wide, not 1`,
      `${f}:24:5: points[2].colour: unknown field`,
      '3 problem(s) in 1 of 2 profile file(s)',
      '',
    ])
  })

  it('reports each broken fixture profile with a position', async () => {
    const dir = 'shared/profile/__fixtures__/broken'
    const r = await muni('profiles', 'validate', '--json', dir)
    expect(r.code).toBe(1)
    const result = JSON.parse(r.out) as { ok: boolean; files: string[]; issues: { file: string; line: number }[] }
    expect(result.ok).toBe(false)
    expect(result.files.length).toBeGreaterThanOrEqual(15)
    // Every broken file is reported, each issue with a real line.
    expect(new Set(result.issues.map((i) => i.file))).toEqual(new Set(result.files))
    expect(result.issues.every((i) => i.line >= 1)).toBe(true)
  })

  it('names a path that does not exist', async () => {
    const r = await muni('profiles', 'validate', 'no/such/profile.yaml')
    expect(r.code).toBe(1)
    expect(r.err).toContain('no/such/profile.yaml: no such file or folder')
  })
})

describe('muni profiles list / show / schema', () => {
  it('lists the shipped profiles', async () => {
    const r = await muni('profiles', 'list')
    expect(r.code).toBe(0)
    expect(r.out.split('\n')[0]).toMatch(/^ID\s+KIND\s+VENDOR\s+MODEL\s+FIRMWARE\s+POINTS$/)
    expect(r.out).toMatch(/cividrain-mc200@2\.1\s+manhole-cover\s+CiviDrain\s+MC200\s+2\.1\s+\d+/)
  })

  it('shows a register table with protocol addresses and Modicon references', async () => {
    const r = await muni('profiles', 'show', 'hydrolux-rl80@2.3')
    expect(r.code).toBe(0)
    // The profile writes 40001-style numbers; the table shows protocol address 0 and reference 40001.
    expect(r.out).toMatch(/^level_m\s+holding\s+0\s+40001\s+float32\s+2\s+CDAB\s+m\s+0\.\.15/m)
    const json = await muni('profiles', 'show', 'hydrolux-rl80@2.3', '--json')
    const p = JSON.parse(json.out) as { points: { name: string; address: number; registers: number }[] }
    expect(p.points.find((x) => x.name === 'level_m')).toMatchObject({ address: 0, registers: 2 })
  })

  it('suggests the other firmware versions of an unknown id', async () => {
    const r = await muni('profiles', 'show', 'cividrain-mc200@9.9')
    expect(r.code).toBe(1)
    expect(r.err).toContain('did you mean cividrain-mc200@1.4, cividrain-mc200@2.1?')
  })

  it('prints the JSON Schema that is committed', async () => {
    const r = await muni('profiles', 'schema')
    expect(r.out).toBe(readFileSync(join(PACKAGE_ROOT, 'firmware-profiles', 'profile.schema.json'), 'utf8'))
  })
})
