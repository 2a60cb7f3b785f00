import { describe, expect, it } from 'vitest'
import { formatIssue } from './issue.ts'
import { issueAt, readYamlText } from './source.ts'

const issues = (text: string, plainYaml?: string): string[] =>
  readYamlText(text, 'f.yaml', plainYaml === undefined ? {} : { plainYaml }).issues.map(formatIssue)

describe('readYamlText', () => {
  it('accepts anchors and aliases by default (districts, scenarios) and gives the plain value', () => {
    const src = readYamlText('a: &x { b: 1 }\nc: *x\n', 'f.yaml')
    expect(src.issues).toEqual([])
    expect(src.value).toEqual({ a: { b: 1 }, c: { b: 1 } })
  })

  it('rejects them in plain YAML, naming the kind of file', () => {
    expect(issues('a: &x { b: 1 }\nc: *x\n', 'widgets')).toEqual([
      'f.yaml:1:4: a: anchor &x is not allowed; widgets are plain YAML: write each value out in full',
      'f.yaml:2:4: c: alias *x is not allowed; widgets are plain YAML: write each value out in full',
    ])
    expect(issues('a: !env HOME\n', 'widgets')).toEqual([
      'f.yaml:1:4: a: tag !env is not allowed; only the YAML core schema is (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq)',
    ])
  })

  it('reports every duplicate key, and only the first syntax error', () => {
    expect(issues('a: 1\nb:\n  c: 1\n  c: 2\na: 3\n')).toEqual([
      'f.yaml:4:3: b.c: duplicate key "c" (map keys must be unique)',
      'f.yaml:5:1: a: duplicate key "a" (map keys must be unique)',
    ])
    expect(issues('a: [1, 2\nb: {\n')).toHaveLength(1)
  })

  it('turns a document with too many aliases into an issue instead of throwing', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdefg'[i]}`).join(', ')}]`)].join('\n')
    const src = readYamlText(bomb, 'f.yaml')
    expect(src.value).toBeUndefined()
    expect(src.issues.map(formatIssue)).toEqual([expect.stringMatching(/^f\.yaml:1:1: cannot read the document: /)])
  })

  it('points a wrong value at the value, an unknown field at its key, a missing one at its map', () => {
    const src = readYamlText('top:\n  inner:\n    leaf: 3\n', 'f.yaml')
    expect(formatIssue(issueAt(src, ['top', 'inner', 'leaf'], 'value', 'v'))).toBe('f.yaml:3:11: top.inner.leaf: v')
    expect(formatIssue(issueAt(src, ['top', 'inner', 'leaf'], 'key', 'k'))).toBe('f.yaml:3:5: top.inner.leaf: k')
    expect(formatIssue(issueAt(src, ['top', 'inner', 'gone'], 'parent', 'p'))).toBe('f.yaml:3:5: top.inner.gone: p')
  })
})
