import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { topics } from '../../shared/mqtt/index.ts'
import { formatEntry, formatHeader, RecordingError } from './format.ts'
import { openRecording, scanRecording } from './reader.ts'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'muni-reader-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const HEADER = formatHeader({ format: 'muni-recording', version: 1, startedAt: 1_764_052_800_000, broker: 'mqtt://h:1883', filters: ['muni/v1/+/+/telemetry'], retainAsPublished: false })
const line = (t: number, topic = topics.telemetry('north', 'gw-01'), text = '{"x":1}'): string => formatEntry({ t, topic, qos: 1, retain: false, payload: new TextEncoder().encode(text) })

function file(content: string | Buffer): string {
  const path = join(dir, 'rec.ndjson')
  writeFileSync(path, content)
  return path
}

async function scanError(path: string): Promise<RecordingError> {
  const err = await scanRecording(path).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(RecordingError)
  return err as RecordingError
}

describe('scanRecording', () => {
  it('counts messages, the time span and command messages', async () => {
    const path = file([HEADER, line(5), line(40), line(90, topics.command('north', 'gw-01'), '{}')].join('\n') + '\n')
    const s = await scanRecording(path)
    expect(s).toMatchObject({ messages: 3, firstT: 5, lastT: 90, commands: 1 })
    expect(s.header.broker).toBe('mqtt://h:1883')
  })

  it('accepts a header-only recording, CRLF line ends and a last line without newline', async () => {
    expect((await scanRecording(file(`${HEADER}\n`))).messages).toBe(0)
    expect((await scanRecording(file(`${HEADER}\r\n${line(1)}\r\n${line(2)}`))).messages).toBe(2)
  })

  it.each([
    ['an empty file', '', /^.*rec\.ndjson: empty file/],
    ['a blank line in the middle', `${HEADER}\n${line(1)}\n\n${line(2)}\n`, /rec\.ndjson:3: empty line$/],
    ['a truncated last line (recorder killed mid-write)', `${HEADER}\n${line(1)}\n${line(2).slice(0, 30)}`, /rec\.ndjson:3: not valid JSON/],
    ['t going backwards', `${HEADER}\n${line(10)}\n${line(9)}\n`, /rec\.ndjson:3: t goes backwards \(9 after 10\)/],
    ['a message line where the header should be', `${line(1)}\n`, /rec\.ndjson:1: not a muni recording/],
  ])('reports %s as file:line: reason', async (_name, content, message) => {
    expect((await scanError(file(content))).message).toMatch(message)
  })

  it('reports bytes that are not UTF-8 instead of replaying U+FFFD', async () => {
    const bad = Buffer.concat([Buffer.from(`${HEADER}\n{"t":1,"topic":"a","qos":0,"retain":false,"payloadText":"`), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')])
    expect((await scanError(file(bad))).message).toMatch(/rec\.ndjson:2: not valid UTF-8$/)
  })

  it('reports a missing file at the file, not a line', async () => {
    const err = await scanError(join(dir, 'nope.ndjson'))
    expect(err.message).toMatch(/nope\.ndjson: cannot read: no such file$/)
    expect(err.line).toBe(0)
  })

  it('counts lines right across read chunks (a payload larger than the 64 KiB read size)', async () => {
    const big = JSON.stringify({ s: 'x'.repeat(200_000) })
    const path = file([HEADER, line(1, undefined, big), line(2, undefined, big), '{oops'].join('\n'))
    expect((await scanError(path)).message).toMatch(/rec\.ndjson:4: not valid JSON/)
  })
})

describe('openRecording', () => {
  it('yields messages lazily, then the error at its line', async () => {
    const { messages } = await openRecording(file(`${HEADER}\n${line(1)}\n${line(2)}\nnot json\n`))
    const seen: number[] = []
    await expect(async () => {
      for await (const m of messages) seen.push(m.line)
    }).rejects.toThrow(/rec\.ndjson:4: not valid JSON/)
    expect(seen).toEqual([2, 3])
  })
})
