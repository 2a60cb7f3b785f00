/**
 * Keeps docs/wire-contract.md honest: every ```json block is decoded on the topic named
 * by the `Topic:` line before it, and the rejection example is checked too.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { decode } from './decode.ts'
import { parseTopic, TOPIC_KINDS, TOPIC_SPECS } from './topics.ts'

const DOC = new URL('../../docs/wire-contract.md', import.meta.url)
const markdown = readFileSync(DOC, 'utf8')

interface Block {
  line: number
  lang: string
  body: string
  topic: string | undefined
}

/** Fenced blocks with the `Topic:` line (if any) that precedes each, skipping blank lines. */
function blocks(md: string): Block[] {
  const lines = md.split('\n')
  const out: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i] ?? '')
    if (!open) continue
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] ?? ''); i++) body.push(lines[i] ?? '')
    let j = start - 1
    while (j >= 0 && (lines[j] ?? '').trim() === '') j--
    const topic = /^Topic: `?([^`\s]+)`?\s*$/.exec(lines[j] ?? '')?.[1]
    out.push({ line: start + 1, lang: open[1] ?? '', body: body.join('\n'), topic })
  }
  return out
}

const all = blocks(markdown)
const json = all.filter((b) => b.lang === 'json')

describe('docs/wire-contract.md', () => {
  it('has JSON examples', () => {
    expect(json.length).toBeGreaterThanOrEqual(TOPIC_KINDS.length)
  })

  it.each(json.map((b) => [b.line, b] as const))('the JSON block at line %i decodes on its topic', (_, block) => {
    expect(block.topic, 'a ```json block needs a "Topic: muni/v1/…" line before it').toBeDefined()
    const result = decode(block.topic ?? '', block.body)
    expect(result.ok ? [] : result.violations).toEqual([])
  })

  it('has an example of every kind', () => {
    const kinds = new Set(json.map((b) => parseTopic(b.topic ?? '')?.kind))
    expect([...TOPIC_KINDS].filter((k) => !kinds.has(k))).toEqual([])
  })

  it('shows the Last Will as the code builds it', () => {
    expect(json.some((b) => JSON.stringify(JSON.parse(b.body)) === '{"state":"offline","session":57}')).toBe(true)
  })

  it('states retain and publisher as TOPIC_SPECS does', () => {
    for (const kind of TOPIC_KINDS) {
      const row = markdown.split('\n').find((l) => l.startsWith(`| \`${kind}\` |`))
      expect(row, kind).toBeDefined()
      const cells = (row ?? '').split('|').map((c) => c.trim())
      const spec = TOPIC_SPECS[kind]
      expect(cells[2], kind).toBe(spec.publisher === 'edge' ? 'edge → cloud' : 'cloud → edge')
      expect(cells[3], kind).toBe(String(spec.qos))
      expect(cells[4], kind).toBe(spec.retain ? '**yes**' : kind === 'command' ? 'never' : 'no')
    }
  })

  it('shows the rejection decode really gives', () => {
    const [payload, answer] = all.filter((b) => b.lang === 'text')
    const result = decode('muni/v1/north/gw-01/telemetry', (payload?.body ?? '').replace(/\n/g, ''))
    expect(result.ok).toBe(false)
    const shown = [...(answer?.body ?? '').matchAll(/\{ path: '([^']*)', reason: '((?:[^'\\]|\\.)*)' \}/g)].map((m) => ({
      path: m[1],
      reason: (m[2] ?? '').replace(/\\'/g, "'"),
    }))
    expect(shown).toEqual(result.ok ? [] : result.violations)
  })
})
