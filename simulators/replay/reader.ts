/**
 * Reads a recording (format.ts) as a stream, one line at a time, so a recording of any
 * size replays in constant memory. Every line is validated; the first bad one stops the
 * read with `file:line: reason`. Nothing is skipped: not a blank line, not a truncated
 * last line (what a recorder killed mid-write leaves), not a `t` that goes backwards.
 */
import { createReadStream } from 'node:fs'
import { parseTopic } from '../../shared/mqtt/index.ts'
import { parseEntryLine, parseHeaderLine, RecordingError, type RecordedMessage, type RecordingHeader } from './format.ts'

/** A recorded message and the line it came from. */
export interface RecordingLine extends RecordedMessage {
  line: number
}

/** What a full pass over a valid recording found. */
export interface RecordingSummary {
  header: RecordingHeader
  /** Number of message lines. */
  messages: number
  /** `t` of the first and last message; both 0 when there are none. */
  firstT: number
  lastT: number
  /** Messages on `command` topics (requests to gateways). */
  commands: number
}

/**
 * Opens `file`, validates the header and yields every message in order. Validation is
 * lazy: a bad line 5000 throws after 4999 messages were yielded, which is why `scanRecording`
 * exists. The file stays open until `messages` is iterated to the end, broken out of, or
 * `messages.return()` is called.
 * @throws RecordingError on the first problem, from `open` or from the iteration.
 */
export async function openRecording(file: string): Promise<{ header: RecordingHeader; messages: AsyncGenerator<RecordingLine, void, undefined> }> {
  const lines = numberedLines(file)
  const first = await lines.next()
  if (first.done) {
    throw new RecordingError(file, 0, 'empty file: a recording starts with a header line')
  }
  let header: RecordingHeader
  try {
    header = parseHeaderLine(first.value.text, file, first.value.line)
  } catch (err) {
    await lines.return(undefined)
    throw err
  }
  return { header, messages: messagesOf(lines, file) }
}

async function* messagesOf(lines: AsyncGenerator<{ line: number; text: string }>, file: string): AsyncGenerator<RecordingLine, void, undefined> {
  let previousT = 0
  try {
    for await (const { line, text } of lines) {
      const m = parseEntryLine(text, file, line)
      if (m.t < previousT) throw new RecordingError(file, line, `t goes backwards (${m.t} after ${previousT}): messages must be in the order received`)
      previousT = m.t
      yield { ...m, line }
    }
  } finally {
    await lines.return(undefined)
  }
}

/**
 * Reads the whole recording once and validates every line, without keeping messages in
 * memory: the replayer calls this first, so a corrupt line anywhere stops a replay before
 * anything was published, and the total is known for progress and ETA.
 * @throws RecordingError on the first problem.
 */
export async function scanRecording(file: string): Promise<RecordingSummary> {
  const { header, messages } = await openRecording(file)
  const summary: RecordingSummary = { header, messages: 0, firstT: 0, lastT: 0, commands: 0 }
  for await (const m of messages) {
    if (summary.messages === 0) summary.firstT = m.t
    summary.lastT = m.t
    summary.messages++
    if (isCommandTopic(m.topic)) summary.commands++
  }
  return summary
}

function isCommandTopic(topic: string): boolean {
  return parseTopic(topic)?.kind === 'command'
}

/** Longest line accepted; far above any MQTT payload a broker forwards by default. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * The lines of `file`, numbered from 1, split on `\n` (a `\r` before it is JSON whitespace).
 * Bytes are decoded strictly: a line that is not UTF-8 is an error, never U+FFFD in a
 * payload that would then replay different bytes. An unreadable file is an error at line 0.
 */
async function* numberedLines(file: string): AsyncGenerator<{ line: number; text: string }> {
  const input = createReadStream(file, { highWaterMark: 64 * 1024 })
  let rest: Buffer = Buffer.alloc(0)
  let line = 0
  const decodeLine = (bytes: Buffer): string => {
    try {
      return utf8.decode(bytes)
    } catch {
      throw new RecordingError(file, line, 'not valid UTF-8')
    }
  }
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      const buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk
      let start = 0
      for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
        line++
        yield { line, text: decodeLine(buf.subarray(start, nl)) }
        start = nl + 1
      }
      rest = buf.subarray(start)
      if (rest.length > MAX_LINE_BYTES) throw new RecordingError(file, line + 1, `line longer than ${MAX_LINE_BYTES} bytes`)
    }
    // A last line without its newline is still a line: accepted if valid, reported if truncated.
    if (rest.length > 0) {
      line++
      yield { line, text: decodeLine(rest) }
    }
  } catch (err) {
    if (err instanceof RecordingError) throw err
    const e = err as NodeJS.ErrnoException
    throw new RecordingError(file, 0, `cannot read: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message}`)
  } finally {
    input.destroy()
  }
}
