/**
 * `npm run bench -- demo [--runs N]`: how long `npm start` (`muni demo`) takes from start
 * until the API serves the first stored reading (issue 5: within 10 s), and until the
 * storm's first predictive (trend, forecast still ahead) and first threshold alarm arrive
 * over the SSE stream (issue 6 point 8: both within 120 s), N runs — the demo's defaults,
 * so the storm at 60× from its --scenario-from (printed per run); and how long each part
 * takes to start on its own (`muni <part> --help`: the cost of loading the code) for
 * comparison.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { SseClient } from '../cloud/api/test-support/sse-client.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** Give up on the alarms this long after start. */
const ALARM_TIMEOUT_MS = 180_000

interface Run {
  /** The scenario as the ready line gives it: `storm from 0:42:00 at 60×`. */
  scenario: string
  seconds: number
  devices: number
  /** Seconds from start until the event arrived over SSE; undefined if it did not within the timeout. */
  predictive?: number
  threshold?: number
  wallToExit: number
}

interface AlarmData {
  transition: { action: { type: string } }
  alarm: { rule: string; eta?: { inS: number } }
}

/** Reads the SSE stream (`SseClient`) until both alarms were seen (or the signal aborts); times in s since `t0` (Date.now()). */
async function watchAlarms(stream: string, token: string, t0: number, signal: AbortSignal): Promise<{ predictive?: number; threshold?: number }> {
  const seen: { predictive?: number; threshold?: number } = {}
  const client = await new SseClient().open(stream, { authorization: `Bearer ${token}` })
  if (client.status !== 200) throw new Error(`GET /api/v1/stream: ${client.status} ${client.events[0]?.data ?? ''}`)
  signal.addEventListener('abort', () => client.close(), { once: true })
  const scan = (): boolean => {
    for (const e of client.events) {
      if (e.event !== 'alarm') continue
      const d = JSON.parse(e.data) as AlarmData
      if (d.transition.action.type !== 'raise') continue
      const at = (e.receivedAt - t0) / 1000
      if (seen.predictive === undefined && d.alarm.rule.endsWith('.trend') && (d.alarm.eta?.inS ?? 0) > 0) seen.predictive = at
      if (seen.threshold === undefined && d.alarm.rule.endsWith('.threshold')) seen.threshold = at
    }
    return seen.predictive !== undefined && seen.threshold !== undefined
  }
  try {
    await client.until(scan, 24 * 3600_000, 'both alarms')
  } catch (e) {
    if (!signal.aborted) throw e
  } finally {
    client.close()
  }
  return seen
}

function once(): Promise<Run> {
  const t0 = performance.now()
  const wall0 = Date.now()
  const child = spawn(process.execPath, ['edge/cli/muni.mjs', 'demo', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  let isReady = false
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (!l.startsWith('{"event":"ready"')) return
      isReady = true
      const ready = JSON.parse(l) as { seconds: number; devicesWithReadings: number; stream: string; token: string; scenario?: { name: string; speed: number; from?: string } }
      const scenario = ready.scenario ? `${ready.scenario.name} from ${ready.scenario.from ?? '0'} at ${ready.scenario.speed}×` : 'none'
      const abort = new AbortController()
      const timer = setTimeout(() => abort.abort(), Math.max(0, ALARM_TIMEOUT_MS - (performance.now() - t0)))
      void watchAlarms(ready.stream, ready.token, wall0, abort.signal)
        .then(async (alarms) => {
          clearTimeout(timer)
          child.kill('SIGINT')
          const code = await exited
          if (code !== 0) throw new Error(`muni demo exited ${code}`)
          resolve({ scenario, seconds: ready.seconds, devices: ready.devicesWithReadings, ...alarms, wallToExit: (performance.now() - t0) / 1000 })
        })
        .catch((e: unknown) => {
          child.kill('SIGKILL')
          reject(e instanceof Error ? e : new Error(String(e)))
        })
    })
    void exited.then((code) => isReady || reject(new Error(`muni demo exited ${code} before it was ready`)))
  })
}

function startup(args: string[]): number {
  const t0 = performance.now()
  spawnSync(process.execPath, ['edge/cli/muni.mjs', ...args, '--help'], { cwd: ROOT, stdio: 'ignore' })
  return (performance.now() - t0) / 1000
}

const s1 = (x: number | undefined): string => (x === undefined ? `none within ${ALARM_TIMEOUT_MS / 1000} s` : `${x.toFixed(1)} s`)

/** Median and worst of the runs; a run that never saw the event counts as worst. */
function summary(name: string, xs: Array<number | undefined>, goal: string): string {
  const got = xs.filter((x): x is number => x !== undefined).sort((a, b) => a - b)
  const missing = xs.length - got.length
  const sorted = [...got, ...Array.from({ length: missing }, () => Number.POSITIVE_INFINITY)]
  const fmt = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? 'none' : `${x.toFixed(1)} s`)
  return `${name}: median ${fmt(sorted[Math.floor(sorted.length / 2)])}, worst ${fmt(sorted.at(-1))}${missing ? ` (${missing} run(s) without one)` : ''} (goal ${goal})\n`
}

export default async function demo(args: string[]): Promise<void> {
  const i = args.indexOf('--runs')
  const runs = i >= 0 ? Number(args[i + 1]) : 3
  const loads = Object.fromEntries(['cloud run', 'edge run', 'sim'].map((a) => [a, startup(a.split(' '))]))
  process.stdout.write(`code load (muni <part> --help): ${Object.entries(loads).map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(', ')}\n`)
  const results: Run[] = []
  for (let r = 0; r < runs; r++) {
    const x = await once()
    results.push(x)
    process.stdout.write(
      `run ${r + 1} (scenario ${x.scenario}): first readings queryable after ${x.seconds.toFixed(1)} s (${x.devices} devices); over SSE: first predictive alarm ${s1(x.predictive)}, first threshold alarm ${s1(x.threshold)}; whole run incl. clean stop ${x.wallToExit.toFixed(1)} s\n`,
    )
  }
  process.stdout.write(summary('time to first queryable reading', results.map((x) => x.seconds), '≤ 10 s'))
  process.stdout.write(summary('time to first predictive (trend) alarm over SSE', results.map((x) => x.predictive), '≤ 120 s'))
  process.stdout.write(summary('time to first threshold alarm over SSE', results.map((x) => x.threshold), '≤ 120 s'))
}
