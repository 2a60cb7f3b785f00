/**
 * The module-boundary check (STYLE.md, "The shape of the house"):
 * - shared/ is pure: it imports no project folder, no Node core module, and of
 *   npm packages only the pure ones on an allowlist;
 * - edge/, cloud/ and simulators/ never import each other (only shared/);
 * - firmware-profiles/ is data: no code there.
 * Tests are exempt: a test may wire the sides together.
 *
 * The check proves it can fail: the same rules run over a fixture tree with one
 * deliberate violation per rule and must report exactly those.
 */
import { readdirSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser'
import { describe, expect, it } from 'vitest'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const fixture = join(root, 'shared', '__fixtures__', 'boundaries')

/** npm packages shared/ may import: pure computation, no I/O. */
const PURE_PACKAGES = ['typebox', 'yaml']
/** Tests, their support code and fixtures, and benchmarks: exempt from the rules below (a test or a bench may wire sides together). */
const NOT_PRODUCTION = '(\\.test\\.ts$|/__fixtures__/|/test-support/|^bench/)'

const rules: IForbiddenRuleType[] = [
  {
    name: 'shared-imports-project-folder',
    comment: 'shared/ holds contracts both sides agree on; it cannot depend on either side',
    severity: 'error',
    from: { path: '^shared/', pathNot: NOT_PRODUCTION },
    to: { path: '^(edge|cloud|simulators|bench|firmware-profiles|docs)/' },
  },
  {
    name: 'shared-imports-node-core',
    comment: 'shared/ does no I/O: no Node core module at all',
    severity: 'error',
    from: { path: '^shared/', pathNot: NOT_PRODUCTION },
    to: { dependencyTypes: ['core'] },
  },
  {
    name: 'shared-imports-impure-package',
    comment: `shared/ may only use pure packages (${PURE_PACKAGES.join(', ')}); add one here only after checking it does no I/O`,
    severity: 'error',
    from: { path: '^shared/', pathNot: NOT_PRODUCTION },
    to: {
      dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'npm-no-pkg', 'npm-unknown'],
      pathNot: `node_modules/(${PURE_PACKAGES.join('|')})/`,
    },
  },
  {
    name: 'sides-import-each-other',
    comment: 'edge/, cloud/ and simulators/ talk only through shared/ contracts (and MQTT/Modbus on the wire)',
    severity: 'error',
    from: { path: '^(edge|cloud|simulators)/', pathNot: NOT_PRODUCTION },
    to: { path: '^(edge|cloud|simulators)/', pathNot: '^$1/' },
  },
  {
    name: 'production-imports-test-support',
    comment: 'test helpers (spawning peers, temp dirs) never ship in production code',
    severity: 'error',
    from: { pathNot: NOT_PRODUCTION },
    to: { path: '(/__fixtures__/|/test-support/)' },
  },
  {
    name: 'unresolvable',
    comment: 'an import that resolves to nothing is a typo or a missing dependency',
    severity: 'error',
    from: { pathNot: NOT_PRODUCTION },
    to: { couldNotResolve: true },
  },
]

interface Finding {
  rule: string
  from: string
  to: string
}

async function check(baseDir: string, folders: string[]): Promise<{ findings: Finding[]; modules: ICruiseResult['modules'] }> {
  const out = await cruise(
    folders,
    {
      baseDir,
      validate: true,
      ruleSet: { forbidden: rules },
      tsPreCompilationDeps: true,
      doNotFollow: { path: 'node_modules' },
      enhancedResolveOptions: {
        exportsFields: ['exports'],
        conditionNames: ['import', 'require', 'node', 'default'],
        extensions: ['.ts', '.mjs', '.js', '.json'],
      },
    },
  )
  const result = out.output as ICruiseResult
  const findings = result.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }))
  return { findings, modules: result.modules }
}

describe('module boundaries', () => {
  it('fail on the deliberate violations of the fixture tree, one per rule', async () => {
    const { findings } = await check(fixture, ['shared', 'edge', 'cloud', 'simulators'])
    const got = findings.map((f) => `${f.rule}: ${f.from} -> ${f.to.replace(/^.*node_modules\//, 'node_modules/')}`).sort()
    expect(got).toEqual(
      [
        'shared-imports-project-folder: shared/knows-the-edge.ts -> edge/poller.ts',
        'shared-imports-node-core: shared/reads-files.ts -> fs',
        'shared-imports-impure-package: shared/uses-a-driver.ts -> node_modules/commander/index.js',
        'sides-import-each-other: edge/calls-the-cloud.ts -> cloud/store.ts',
        'sides-import-each-other: cloud/replays.ts -> simulators/device.ts',
        'sides-import-each-other: simulators/polls.ts -> edge/poller.ts',
        'production-imports-test-support: edge/uses-test-support.ts -> shared/test-support/peers.ts',
      ].sort(),
    )
  })

  it('pass on the project tree, having really looked at it', async () => {
    const folders = ['shared', 'edge', 'cloud', 'simulators', 'bench'].filter((f) => readdirSync(root).includes(f))
    const { findings, modules } = await check(root, folders)
    expect(findings).toEqual([])
    // Guard against a silently empty cruise (seen with typescript 7: 0 modules, "no violations").
    const names = new Set(modules.map((m) => m.source))
    expect(names.has('shared/profile/schema.ts')).toBe(true)
    const schema = modules.find((m) => m.source === 'shared/profile/schema.ts')
    expect(schema?.dependencies.some((d) => d.module === 'typebox')).toBe(true)
  })

  it('keep firmware-profiles/ free of code', () => {
    const code: string[] = []
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name)
        if (e.isDirectory()) walk(p)
        else if (/\.(c|m)?[jt]sx?$/.test(e.name)) code.push(relative(root, p))
      }
    }
    walk(join(root, 'firmware-profiles'))
    expect(code).toEqual([])
  })
})
