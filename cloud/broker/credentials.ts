/**
 * The broker's credentials file: one YAML list entry per MQTT user.
 *
 * ```yaml
 * - username: gw-north-01
 *   passwordHash: scrypt$32768$8$1$<salt>$<hash>   # npx tsx cloud/broker/hash-password-cli.ts
 *   role: gateway
 *   site: north
 *   gateway: gw-01
 * - username: ingest
 *   passwordHash: scrypt$32768$8$1$<salt>$<hash>
 *   role: cloud
 * ```
 *
 * Every problem is reported at once as `file:line:column: field: reason`
 * (`shared/yaml/`). Reasons never quote a `passwordHash` value.
 */
import { readFileSync } from 'node:fs'
import Type, { type Static } from 'typebox'
import { Compile, type Validator } from 'typebox/compile'
import { ID_PATTERN } from '../../shared/mqtt/topics.ts'
import { compareIssues, type SourceIssue } from '../../shared/yaml/issue.ts'
import { checkParts, itemParts } from '../../shared/yaml/parts.ts'
import { issueAt, readYamlText, violationIssues } from '../../shared/yaml/source.ts'
import type { Identity } from './acl.ts'
import { parsePasswordHash, type PasswordHash } from './password.ts'

const Id = Type.String({ pattern: ID_PATTERN, description: 'a site or gateway id as in the topic namespace' })

/** One entry of the file, as written. */
export const CredentialEntrySchema = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 256 }),
    passwordHash: Type.String({ description: 'scrypt$N$r$p$salt$hash (hashPassword / hash-password-cli.ts)' }),
    role: Type.Union([Type.Literal('gateway'), Type.Literal('cloud')]),
    site: Type.Optional(Id),
    gateway: Type.Optional(Id),
  },
  { additionalProperties: false },
)
export type CredentialEntry = Static<typeof CredentialEntrySchema>

const FileSchema = Type.Array(Type.Unknown())
const fileValidator = Compile(FileSchema) as Validator
const entryValidator = Compile(CredentialEntrySchema) as Validator

/** A user the broker knows: who it is once authenticated, and its password hash. */
export interface Credential {
  readonly identity: Exclude<Identity, { role: 'anonymous' }>
  readonly hash: PasswordHash
}

/** The credentials by username, or every problem found. */
export interface LoadedCredentials {
  /** Present only when there are no issues. */
  credentials?: ReadonlyMap<string, Credential>
  issues: SourceIssue[]
}

/** Reads and checks the credentials file `file`. */
export function loadCredentials(file: string): LoadedCredentials {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a credentials file' : `cannot read: ${(err as Error).message}`
    return { issues: [{ file, line: 0, column: 0, field: '', reason }] }
  }
  return parseCredentials(text, file)
}

/** Checks credentials file text; `file` is the name issues show. */
export function parseCredentials(text: string, file: string): LoadedCredentials {
  const src = readYamlText(text, file, { plainYaml: 'credentials files' })
  if (src.issues.length > 0) return { issues: src.issues }
  if (!Array.isArray(src.value)) {
    return { issues: [issueAt(src, [], 'value', 'a credentials file is a list of { username, passwordHash, role, site?, gateway? }')] }
  }
  const entries = src.value as unknown[]
  const violations = checkParts([{ at: '', value: entries, validator: fileValidator }, ...itemParts(entries, '', entryValidator)])
  const issues = violationIssues(src, violations)
  const bad = new Set(violations.map((v) => Number(v.path.split('/')[1])))
  const out = new Map<string, Credential>()
  const firstLine = new Map<string, number>()
  entries.forEach((raw, i) => {
    if (bad.has(i)) return
    const e = raw as CredentialEntry
    const hash = parsePasswordHash(e.passwordHash)
    if (typeof hash === 'string') issues.push(issueAt(src, [i, 'passwordHash'], 'value', hash))
    const seen = firstLine.get(e.username)
    if (seen !== undefined) {
      issues.push(issueAt(src, [i, 'username'], 'value', `duplicate username "${e.username}" (first at entry ${seen})`))
      return
    }
    firstLine.set(e.username, i)
    let identity: Credential['identity'] | undefined
    if (e.role === 'gateway') {
      if (e.site === undefined) issues.push(issueAt(src, [i, 'site'], 'parent', 'is required for role gateway'))
      if (e.gateway === undefined) issues.push(issueAt(src, [i, 'gateway'], 'parent', 'is required for role gateway'))
      if (e.site !== undefined && e.gateway !== undefined) identity = { role: 'gateway', username: e.username, site: e.site, gateway: e.gateway }
    } else {
      for (const f of ['site', 'gateway'] as const) {
        if (e[f] !== undefined) issues.push(issueAt(src, [i, f], 'key', 'applies only to role gateway; the cloud identity is not tied to one gateway'))
      }
      identity = { role: 'cloud', username: e.username }
    }
    if (identity !== undefined && typeof hash !== 'string') out.set(e.username, Object.freeze({ identity: Object.freeze(identity), hash }))
  })
  if (issues.length > 0) return { issues: issues.sort(compareIssues) }
  return { credentials: out, issues: [] }
}
