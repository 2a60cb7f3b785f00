import { describe, expect, it } from 'vitest'
import { formatIssue } from '../../shared/yaml/issue.ts'
import { parseCredentials } from './credentials.ts'
import { credentialsYaml } from './test-support/setup.ts'

const HASH = 'scrypt$1024$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA=='
const issues = (text: string): string[] => parseCredentials(text, 'creds.yaml').issues.map(formatIssue)

describe('credentials file', () => {
  it('reads gateways and the cloud into identities by username', async () => {
    const { credentials, issues } = parseCredentials(await credentialsYaml(), 'creds.yaml')
    expect(issues).toEqual([])
    expect(credentials?.get('gw-north-01')?.identity).toEqual({ role: 'gateway', username: 'gw-north-01', site: 'north', gateway: 'gw-01' })
    expect(credentials?.get('ingest')?.identity).toEqual({ role: 'cloud', username: 'ingest' })
    expect(credentials?.size).toBe(4)
  })

  it('reports every problem as file:line:column: field: reason, never quoting a hash', () => {
    const text = [
      `- username: a`,
      `  passwordHash: ${HASH}`,
      `  role: gateway`,
      `  site: north`,
      `- username: b`,
      `  passwordHash: scrypt$1024$8$1$c2FsdHNhbHQ=$c2VjcmV0LWxvb2tpbmc=x`,
      `  role: cloud`,
      `  gateway: gw-01`,
      `- username: a`,
      `  passwordHash: ${HASH}`,
      `  role: admin`,
      `  colour: red`,
      `- username: c`,
      `  passwordHash: ${HASH}`,
      `  role: gateway`,
      `  site: "north/#"`,
      `  gateway: gw-02`,
      '',
    ].join('\n')
    const found = issues(text)
    expect(found).toEqual([
      'creds.yaml:1:3: [0].gateway: is required for role gateway',
      'creds.yaml:6:17: [1].passwordHash: must be scrypt$N$r$p$salt$hash with salt and hash in base64 (make one with hashPassword)',
      'creds.yaml:8:3: [1].gateway: applies only to role gateway; the cloud identity is not tied to one gateway',
      'creds.yaml:11:9: [2].role: must be one of "gateway", "cloud"',
      'creds.yaml:12:3: [2].colour: unknown field',
      expect.stringMatching(/^creds\.yaml:16:9: \[3\]\.site: /),
    ])
    expect(found.join('\n')).not.toContain('c2VjcmV0LWxvb2tpbmc')
  })

  it('refuses a duplicate username and a document that is not a list', () => {
    expect(issues(`- { username: a, passwordHash: "${HASH}", role: cloud }\n- { username: a, passwordHash: "${HASH}", role: cloud }\n`)).toEqual([
      'creds.yaml:2:15: [1].username: duplicate username "a" (first at entry 0)',
    ])
    expect(issues('username: a\n')).toEqual(['creds.yaml:1:1: a credentials file is a list of { username, passwordHash, role, site?, gateway? }'])
    expect(issues('- a: &x 1\n')).toEqual([expect.stringContaining('anchor &x is not allowed; credentials files are plain YAML')])
  })
})
