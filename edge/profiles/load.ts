/**
 * Reads firmware-profile YAML files from disk and builds the profile library
 * with the shared parser. This is the only file reading profiles from disk on
 * the edge; paths in issues are shown relative to the working directory.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildLibrary, type ProfileIssue, type ProfileSource } from '../../shared/profile/parse.ts'
import type { ResolvedProfile } from '../../shared/profile/resolve.ts'

/** Profiles shipped with muni-iot (`firmware-profiles/` at the package root). */
export const DEFAULT_PROFILES_DIR = process.env.MUNI_PROFILES_DIR ?? fileURLToPath(new URL('../../firmware-profiles', import.meta.url))

export interface LoadedLibrary {
  /** Valid profiles by id. */
  profiles: ReadonlyMap<string, ResolvedProfile>
  /** Every problem found, with file:line:column. */
  issues: ProfileIssue[]
  /** Every file that was read (relative paths). */
  files: string[]
}

const isProfileFile = (name: string): boolean => /\.ya?ml$/i.test(name)

/** Lists profile files under each path (a file, or a folder searched recursively), sorted. */
export function listProfileFiles(paths: readonly string[]): { files: string[]; issues: ProfileIssue[] } {
  const files: string[] = []
  const issues: ProfileIssue[] = []
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile() && isProfileFile(e.name)) files.push(p)
    }
  }
  for (const p of paths) {
    try {
      if (statSync(p).isDirectory()) walk(p)
      else files.push(p)
    } catch (err) {
      issues.push({ file: display(p), line: 0, column: 0, field: '', reason: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : String(err) })
    }
  }
  return { files, issues }
}

/** Reads and parses every profile under `paths` (default: the shipped profiles). */
export function loadProfiles(paths: readonly string[] = [DEFAULT_PROFILES_DIR]): LoadedLibrary {
  const listed = listProfileFiles(paths)
  const sources: ProfileSource[] = []
  const issues = [...listed.issues]
  for (const f of listed.files) {
    try {
      sources.push({ file: display(f), text: readFileSync(f, 'utf8') })
    } catch (err) {
      issues.push({ file: display(f), line: 0, column: 0, field: '', reason: `cannot read: ${(err as Error).message}` })
    }
  }
  const lib = buildLibrary(sources)
  return { profiles: lib.profiles, issues: [...issues, ...lib.issues], files: sources.map((s) => s.file) }
}

/** A path as the user should see it: relative to the working directory when inside it. */
export function display(p: string): string {
  const rel = relative(process.cwd(), resolve(p))
  return rel.startsWith('..') ? resolve(p) : rel
}
