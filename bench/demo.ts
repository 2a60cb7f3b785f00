/**
 * `npm run bench -- demo [--runs N]`: how long `npm start` (`muni demo`) takes from start
 * until the API serves the first stored reading (issue 5: within 10 s), N runs, and how
 * long each part takes to start on its own (`muni <part> --help`: the cost of loading the
 * code) for comparison.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

function once(): Promise<{ seconds: number; devices: number; wallToExit: number }> {
  const t0 = performance.now()
  const child = spawn(process.execPath, ['edge/cli/muni.mjs', 'demo', '--json', '--duration', '1'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let ready: { seconds: number; devicesWithReadings: number } | undefined
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (l.startsWith('{"event":"ready"')) ready = JSON.parse(l) as typeof ready
    })
    child.on('exit', (code) => {
      if (code !== 0 || ready === undefined) reject(new Error(`muni demo exited ${code}`))
      else resolve({ seconds: ready.seconds, devices: ready.devicesWithReadings, wallToExit: (performance.now() - t0) / 1000 })
    })
  })
}

function startup(args: string[]): number {
  const t0 = performance.now()
  spawnSync(process.execPath, ['edge/cli/muni.mjs', ...args, '--help'], { cwd: ROOT, stdio: 'ignore' })
  return (performance.now() - t0) / 1000
}

export default async function demo(args: string[]): Promise<void> {
  const i = args.indexOf('--runs')
  const runs = i >= 0 ? Number(args[i + 1]) : 3
  const loads = Object.fromEntries(['cloud run', 'edge run', 'sim'].map((a) => [a, startup(a.split(' '))]))
  process.stdout.write(`code load (muni <part> --help): ${Object.entries(loads).map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(', ')}\n`)
  const results = []
  for (let r = 0; r < runs; r++) {
    const x = await once()
    results.push(x)
    process.stdout.write(`run ${r + 1}: first readings queryable after ${x.seconds.toFixed(1)} s (${x.devices} devices); whole run incl. 1 s and clean stop ${x.wallToExit.toFixed(1)} s\n`)
  }
  const s = results.map((x) => x.seconds).sort((a, b) => a - b)
  process.stdout.write(`time to first queryable reading: median ${s[Math.floor(s.length / 2)]?.toFixed(1)} s, worst ${s.at(-1)?.toFixed(1)} s (goal ≤ 10 s)\n`)
}
