/**
 * Reads what the rule set is made of from disk: the firmware profiles (their alarm hints
 * are layer 1) and, when configured, the rules file (layers 2–5). The parsing is the pure
 * `parseProfile` / `parseRules`; this file only reads. Called on start and on every
 * reload (SIGHUP, `muni cloud validate`), so a bad edit is reported with file:line and
 * the running rules stay as they were.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseProfile } from '../../shared/profile/parse.ts'
import type { Profile } from '../../shared/profile/schema.ts'
import type { SourceIssue } from '../../shared/yaml/issue.ts'
import { parseRules, type RuleSet } from './rules.ts'

/** Profiles shipped with muni-iot (`firmware-profiles/` at the package root). */
export const SHIPPED_PROFILES_DIR = process.env.MUNI_PROFILES_DIR ?? fileURLToPath(new URL('../../firmware-profiles', import.meta.url))

export interface RuleSources {
  /** Profile files or folders (searched recursively for .yaml/.yml); default the shipped profiles. */
  profileDirs?: readonly string[]
  /** The rules file (layers 2–5); without it the profiles' hints alone. */
  rulesFile?: string
}

export interface LoadedRules {
  rules?: RuleSet
  issues: SourceIssue[]
  /** How many profiles the hints came from. */
  profiles: number
}

const show = (p: string): string => {
  const rel = relative(process.cwd(), resolve(p))
  return rel.startsWith('..') ? resolve(p) : rel
}

function readText(path: string, issues: SourceIssue[]): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    issues.push({ file: show(path), line: 0, column: 0, field: '', reason: code === 'ENOENT' ? 'no such file' : `cannot read: ${(err as Error).message}` })
    return undefined
  }
}

/** Every profile under `dirs`, parsed; a profile with issues is reported and left out. */
export function readProfiles(dirs: readonly string[] = [SHIPPED_PROFILES_DIR]): { profiles: Profile[]; issues: SourceIssue[] } {
  const profiles: Profile[] = []
  const issues: SourceIssue[] = []
  const files: string[] = []
  for (const d of dirs) {
    let isDir: boolean
    try {
      isDir = statSync(d).isDirectory()
    } catch {
      issues.push({ file: show(d), line: 0, column: 0, field: '', reason: 'no such file or folder' })
      continue
    }
    if (!isDir) files.push(d)
    else for (const f of readdirSync(d, { recursive: true, encoding: 'utf8' })) if (/\.ya?ml$/i.test(f)) files.push(join(d, f))
  }
  for (const f of files.sort()) {
    const text = readText(f, issues)
    if (text === undefined) continue
    const r = parseProfile(text, show(f))
    if (r.ok) profiles.push(r.profile)
    else issues.push(...r.issues)
  }
  return { profiles, issues }
}

/** The rule set from the profiles' hints and the rules file, or the issues that stop it. */
export function loadRuleSet(src: RuleSources = {}): LoadedRules {
  const { profiles, issues } = readProfiles(src.profileDirs)
  let text = ''
  let file = '(no rules file)'
  if (src.rulesFile !== undefined) {
    const t = readText(src.rulesFile, issues)
    if (t !== undefined) {
      text = t
      file = show(src.rulesFile)
    }
  }
  if (issues.length > 0) return { issues, profiles: profiles.length }
  const parsed = parseRules(text, file, profiles)
  return parsed.rules !== undefined ? { rules: parsed.rules, issues: [], profiles: profiles.length } : { issues: parsed.issues, profiles: profiles.length }
}
