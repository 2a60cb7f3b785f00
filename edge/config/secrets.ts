/**
 * Secrets come from the environment, never from the file: the config names the
 * variable (`broker.passwordEnv: MUNI_BROKER_PASSWORD`, an OPC UA bus's `passwordEnv`) and the agent's
 * environment holds the value (a systemd `EnvironmentFile=` readable by the agent
 * only, a container secret). A config can then be copied, committed and pasted
 * into a ticket without leaking anything. `${NAME}` is not expanded anywhere:
 * one explicit way is easier to audit than interpolation in every string.
 *
 * A variable that is named but not set is an error at the field that names it.
 */
import type { SourceIssue } from '../../shared/yaml/issue.ts'
import { issueAt, type YamlText } from '../../shared/yaml/source.ts'
import { Secret } from './secret.ts'

/** The process environment, or a stand-in for it (tests). */
export type Env = Readonly<Record<string, string | undefined>>

/** The secrets a config names, read from `env`, and the problems found. */
export interface ResolvedSecrets {
  brokerPassword?: Secret
  /** By OPC UA bus id. */
  busPasswords: ReadonlyMap<string, Secret>
  issues: SourceIssue[]
}

/**
 * Reads every secret the config names from `env`: the broker's password and each OPC UA
 * bus's. A `passwordEnv` that is itself invalid (`clean` says so) is skipped.
 */
export function resolveSecrets(src: YamlText, env: Env, clean: (pointer: string) => boolean): ResolvedSecrets {
  const doc = src.value as { broker?: { passwordEnv?: unknown }; buses?: unknown } | null
  const issues: SourceIssue[] = []
  const read = (path: (string | number)[], name: unknown): Secret | undefined => {
    if (typeof name !== 'string' || !clean(`/${path.join('/')}`)) return undefined
    const value = env[name]
    if (value === undefined || value === '') {
      issues.push(issueAt(src, path, 'value', `environment variable ${name} is ${value === undefined ? 'not set' : 'empty'}`))
      return undefined
    }
    return new Secret(value)
  }
  const brokerPassword = read(['broker', 'passwordEnv'], doc?.broker?.passwordEnv)
  const busPasswords = new Map<string, Secret>()
  if (Array.isArray(doc?.buses)) {
    doc.buses.forEach((b: unknown, i: number) => {
      const bus = b as { id?: unknown; passwordEnv?: unknown } | null
      const secret = read(['buses', i, 'passwordEnv'], bus?.passwordEnv)
      if (secret !== undefined && typeof bus?.id === 'string') busPasswords.set(bus.id, secret)
    })
  }
  return { ...(brokerPassword !== undefined && { brokerPassword }), busPasswords, issues }
}

const PLACEHOLDER = /\$\{[^}\s]*\}?/

/**
 * `${NAME}` written in a string value: the author expected interpolation, which
 * this format does not do. Reported at each such value (only the placeholder is
 * quoted, never the rest of the string).
 */
export function placeholderIssues(src: YamlText): SourceIssue[] {
  const out: SourceIssue[] = []
  const walk = (v: unknown, path: (string | number)[]): void => {
    if (typeof v === 'string') {
      const m = PLACEHOLDER.exec(v)
      if (m) {
        out.push(
          issueAt(src, path, 'value', `${m[0]} is not expanded: gateway configs read no environment variables except the one broker.passwordEnv names`),
        )
      }
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, [...path, i]))
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k])
    }
  }
  walk(src.value, [])
  return out
}
