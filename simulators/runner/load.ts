/**
 * What a run reads from disk: firmware profiles (with the shared parser,
 * `buildLibrary`; the edge has its own loader and the sides share only `shared/`),
 * and which scenario file a scenario name means.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildLibrary, type ProfileIssue, type ProfileSource } from '../../shared/profile/parse.ts'
import type { ResolvedProfile } from '../../shared/profile/resolve.ts'
import { listScenarioFiles } from '../scenarios/load.ts'

/** The shipped profiles (`firmware-profiles/` at the package root), or $MUNI_PROFILES_DIR. */
export const SHIPPED_PROFILES_DIR = process.env.MUNI_PROFILES_DIR ?? fileURLToPath(new URL('../../firmware-profiles', import.meta.url))

export interface ProfileLibrary {
  profiles: ReadonlyMap<string, ResolvedProfile>
  issues: ProfileIssue[]
}

/** Parses every `.yaml`/`.yml` file under `dir` (recursively); an unreadable folder is one issue. */
export function loadProfileLibrary(dir: string = SHIPPED_PROFILES_DIR): ProfileLibrary {
  const sources: ProfileSource[] = []
  const issues: ProfileIssue[] = []
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile() && /\.ya?ml$/i.test(e.name)) sources.push({ file: p, text: readFileSync(p, 'utf8') })
    }
  }
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder')
    walk(dir)
  } catch (err) {
    issues.push({ file: dir, line: 0, column: 0, field: '', reason: `cannot read profiles: ${(err as Error).message}` })
  }
  const lib = buildLibrary(sources)
  return { profiles: lib.profiles, issues: [...issues, ...lib.issues] }
}

/** The shipped scenarios' names (file names without .yaml). */
export function shippedScenarioNames(): string[] {
  return listScenarioFiles().map((f) => basename(f).replace(/\.ya?ml$/i, ''))
}

/**
 * The file a `--scenario` argument means: an existing file as given, else the
 * shipped scenario of that name (`storm` → simulators/scenarios/storm.yaml).
 */
export function scenarioFileFor(ref: string): string | undefined {
  if (existsSync(ref) && statSync(ref).isFile()) return ref
  return listScenarioFiles().find((f) => basename(f).replace(/\.ya?ml$/i, '') === ref)
}
