/**
 * SSE listener for `npm run bench -- alarms`, its own process so parsing the stream does not
 * share an event loop with the cloud it measures. Connects to GET {api}/api/v1/stream with a
 * token, prints `ready` once the stream is open, and for every `alarm` event records
 * now − transition.action.at (the reading's sample time = its publish time, see
 * alarm-load.ts). On `report` it prints one JSON line { events, p50, p99, max } and starts over.
 *
 * argv[2]: JSON { api, token }
 */
import { createInterface } from 'node:readline'

const { api, token } = JSON.parse(process.argv[2] ?? '{}') as { api: string; token: string }

let latencies: number[] = []
// The bench holds our stdin: when it ends (the bench exited, however), so do we, even mid-phase
// (a loader left behind kept reconnecting to a broker that was gone, loading the next runs).
process.stdin.once('end', () => process.exit(0))

async function main(): Promise<void> {
  const res = await fetch(`${api}/api/v1/stream`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } })
  if (res.status !== 200 || res.body === null) throw new Error(`stream: HTTP ${res.status}`)
  process.stdout.write('ready\n')
  createInterface({ input: process.stdin }).on('line', (l) => {
    if (l !== 'report') return
    const a = latencies.sort((x, y) => x - y)
    latencies = []
    const pct = (p: number): number => a[Math.min(a.length - 1, Math.floor((a.length * p) / 100))] ?? Number.NaN
    process.stdout.write(`${JSON.stringify({ events: a.length, p50: pct(50), p99: pct(99), max: a[a.length - 1] ?? Number.NaN })}\n`)
  })
  const decoder = new TextDecoder()
  let buf = ''
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const now = Date.now()
    buf += decoder.decode(chunk, { stream: true })
    let end: number
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end)
      buf = buf.slice(end + 2)
      let event = ''
      let data = ''
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7)
        else if (line.startsWith('data: ')) data += line.slice(6)
      }
      if (event !== 'alarm') continue
      const e = JSON.parse(data) as { transition: { action: { at: number } } }
      latencies.push(now - e.transition.action.at)
    }
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`sse listener: ${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
