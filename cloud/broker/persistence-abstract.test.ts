/**
 * aedes-persistence's conformance suite (its own abstract.js, on node:test) against
 * SqlitePersistence, in a child process: `persistence-abstract.mjs`.
 */
import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { within } from './test-support/setup.ts'

describe('SqlitePersistence', () => {
  it('passes every test of aedes-persistence/abstract.js', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', 'cloud/broker/persistence-abstract.mjs'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const code = await within(
      new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c))),
      60_000,
      'the abstract suite',
    ).finally(() => child.exitCode === null && child.kill('SIGKILL'))
    const count = (what: string): number => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(out)?.[1] ?? NaN)
    expect({ code, fail: count('fail'), failures: out.split('\n').filter((l) => l.startsWith('not ok')) }).toEqual({ code: 0, fail: 0, failures: [] })
    // 50 in aedes-persistence 11.0.0; fewer would mean the suite did not run in full.
    expect(count('pass')).toBeGreaterThanOrEqual(50)
  }, 90_000)
})
