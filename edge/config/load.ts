/**
 * Loads a gateway config: reads the YAML with positions, validates it, and
 * returns either the config the agent runs on (defaults applied, deep-frozen) or
 * every problem at once as `file:line:column: field: reason`:
 *
 * 1. YAML: syntax, duplicate keys, anchors/aliases/tags (plain YAML, `shared/yaml/`);
 * 2. schema (`schema.ts`), the whole document and each bus and device on its own;
 * 3. what the schema cannot say (`checks.ts`), run even when step 2 found
 *    problems, on the fields that passed it;
 * 4. the gateway itself: profiles folder, TLS files, buffer folder (`host.ts`),
 *    and the environment variables that hold secrets (`secrets.ts`).
 *
 * Paths in the config are relative to the config file's folder.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { Compile, type Validator } from 'typebox/compile'
import type { Violation } from '../../shared/schema/violations.ts'
import { compareIssues, type SourceIssue } from '../../shared/yaml/issue.ts'
import { checkParts, itemParts } from '../../shared/yaml/parts.ts'
import { issueAt, readYamlText, violationIssues, type YamlText } from '../../shared/yaml/source.ts'
import { DEFAULT_PROFILES_DIR, display, loadProfiles } from '../profiles/load.ts'
import { checkConfig, type ProfileFacts } from './checks.ts'
import { folderProblem, hostIssues } from './host.ts'
import { improveReason } from './reasons.ts'
import { resolveConfig, type GatewayConfig } from './resolve.ts'
import { BusSchema, DeviceSchema, GatewayConfigSchema, type GatewayConfigFile } from './schema.ts'
import { placeholderIssues, resolveSecrets, type Env } from './secrets.ts'

export type { GatewayConfig } from './resolve.ts'

const validator = Compile(GatewayConfigSchema) as Validator
const busValidator = Compile(BusSchema) as Validator
const deviceValidator = Compile(DeviceSchema) as Validator

export interface LoadConfigOptions {
  /** Where secrets are read from (default `process.env`). */
  env?: Env
  /** The profile library to check devices against (default: read from the config's `profilesDir`, else the shipped profiles). */
  profiles?: ReadonlyMap<string, ProfileFacts>
}

/** The config, or why not. */
export interface LoadedConfig {
  /** Present only when there are no issues. */
  config?: GatewayConfig
  /** Every problem found, ordered by position; line 0 when the file itself cannot be read. */
  issues: SourceIssue[]
}

/** Reads and validates the gateway config `file` (issues name it as given). */
export function loadConfig(file: string, options: LoadConfigOptions = {}): LoadedConfig {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a config file' : `cannot read: ${(err as Error).message}`
    return { issues: [{ file, line: 0, column: 0, field: '', reason }] }
  }
  return parseConfig(text, file, { ...options, baseDir: dirname(resolve(file)) })
}

/** Validates config text; `baseDir` is the folder relative paths start from (the config file's). */
export function parseConfig(text: string, file: string, options: LoadConfigOptions & { baseDir: string }): LoadedConfig {
  const src = readYamlText(text, file, { plainYaml: 'gateway configs' })
  if (src.issues.length > 0) return { issues: src.issues }
  if (src.value === null || src.value === undefined) {
    return { issues: [issueAt(src, [], 'value', `the document is empty; a gateway config is a map with ${GatewayConfigSchema.required.join(', ')}`)] }
  }

  const violations = schemaViolations(src.value)
  const clean = (pointer: string): boolean => !violations.some((v) => v.path === pointer || v.path.startsWith(`${pointer}/`))
  const issues = violationIssues(src, violations, (path, reason) => improveReason(src.value, path, reason))

  const library = profileLibrary(src, clean, options)
  issues.push(...library.issues)
  issues.push(...checkConfig(src, clean, { profiles: library.profiles, profileKind: library.kind, profilesHint: library.hint }))
  issues.push(...placeholderIssues(src))
  issues.push(...hostIssues(src, clean, options.baseDir))
  const secrets = resolveSecrets(src, options.env ?? process.env, clean)
  issues.push(...secrets.issues)

  if (issues.length > 0) return { issues: dedupe(issues).sort(compareIssues) }
  const config = resolveConfig(src.value as GatewayConfigFile, {
    baseDir: options.baseDir,
    profilesDir: library.dir,
    ...(secrets.brokerPassword !== undefined && { password: secrets.brokerPassword }),
    busPasswords: secrets.busPasswords,
    ...(library.profiles !== undefined && { profiles: library.profiles }),
  })
  return { config: deepFreeze(config), issues: [] }
}

/** The whole document, then each bus and each device on its own (see `checkParts`). */
function schemaViolations(value: unknown): Violation[] {
  const doc = value as { buses?: unknown; devices?: unknown } | null
  return checkParts([
    { at: '', value, validator },
    ...itemParts(doc?.buses, '/buses', busValidator),
    ...itemParts(doc?.devices, '/devices', deviceValidator),
  ])
}

interface Library {
  profiles?: ReadonlyMap<string, ProfileFacts>
  /** Absolute folder. */
  dir: string
  kind: string
  hint: string
  issues: SourceIssue[]
}

/** The profiles to check devices against: given by the caller, or read from `profilesDir` / the shipped folder. */
function profileLibrary(src: YamlText, clean: (pointer: string) => boolean, options: LoadConfigOptions & { baseDir: string }): Library {
  const written = (src.value as { profilesDir?: unknown } | null)?.profilesDir
  const own = typeof written === 'string' && clean('/profilesDir') ? written : undefined
  const dir = own === undefined ? DEFAULT_PROFILES_DIR : resolve(options.baseDir, own)
  const kind = own === undefined ? 'shipped profile' : `profile in ${display(dir)}`
  const hint = own === undefined ? '`muni profiles list` shows them' : `\`muni profiles list --dir ${display(dir)}\` shows them`
  if (options.profiles) return { profiles: options.profiles, dir, kind, hint, issues: [] }
  if (own !== undefined) {
    const problem = folderProblem(own, options.baseDir)
    // Without its profiles, devices cannot be checked: say so once, at profilesDir.
    if (problem !== undefined) return { dir, kind, hint, issues: [issueAt(src, ['profilesDir'], 'value', problem)] }
  }
  const lib = loadProfiles([dir])
  const issues =
    lib.issues.length === 0
      ? []
      : [
          issueAt(
            src,
            own === undefined ? [] : ['profilesDir'],
            'value',
            `${lib.issues.length} problem(s) in the profiles of ${display(dir)}; \`muni profiles validate ${display(dir)}\` lists them`,
          ),
        ]
  return { profiles: lib.profiles, dir, kind, hint, issues }
}

/** A field can break one rule in two passes (e.g. a schema message and a check on the same value): show it once. */
function dedupe(issues: readonly SourceIssue[]): SourceIssue[] {
  const seen = new Set<string>()
  return issues.filter((i) => {
    const key = `${i.line}:${i.column}:${i.field}:${i.reason}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
