/**
 * External programs the integration tests talk to (mosquitto, influxd, socat,
 * mbpoll, pymodbus, chromium…). On a developer's machine a missing one skips the
 * test with a printed reason; under CI=true it fails the test, so a green CI run
 * always means the real peers were exercised.
 */
import { spawnSync } from 'node:child_process'

export interface Binary {
  /** What the README calls it (the Debian package). */
  package: string
  /** Command and arguments that succeed when the tool is usable. */
  probe: readonly [string, ...string[]]
}

/** Every external tool the test suite uses, by Debian package. */
export const BINARIES = {
  influxd: { package: 'influxdb', probe: ['influxd', 'version'] },
  mosquitto: { package: 'mosquitto', probe: ['mosquitto', '-h'] },
  mosquittoClients: { package: 'mosquitto-clients', probe: ['mosquitto_pub', '--help'] },
  socat: { package: 'socat', probe: ['socat', '-V'] },
  mbpoll: { package: 'mbpoll', probe: ['mbpoll', '-V'] },
  pymodbus: { package: 'python3-pymodbus', probe: ['/usr/bin/python3', '-c', 'import pymodbus'] },
  victoriaMetrics: { package: 'victoria-metrics', probe: ['victoria-metrics', '-version'] },
  chromium: { package: 'chromium', probe: ['chromium', '--version'] },
} as const satisfies Record<string, Binary>

const cache = new Map<string, string | undefined>()

/** Why the tool can't be used, or undefined when it can. */
export function missingReason(b: Binary): string | undefined {
  const key = b.probe.join(' ')
  if (cache.has(key)) return cache.get(key)
  const [cmd, ...args] = b.probe
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 15_000 })
  // Some tools exit non-zero on -h/-V; what matters is that they ran at all.
  const reason = r.error ? `${cmd} is not available (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}); install the Debian package ${b.package}` : r.status === null ? `${cmd} did not finish its probe` : cmd.endsWith('python3') && r.status !== 0 ? `${b.probe.join(' ')} failed; install the Debian package ${b.package}` : undefined
  cache.set(key, reason)
  return reason
}

/** True when missing tools must fail tests instead of skipping them. */
export function strict(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1'
}

/**
 * Decides what a test does about a tool: nothing when it is there; under CI
 * throws (the test fails with the reason); otherwise returns the reason to skip.
 */
export function gate(b: Binary, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const reason = missingReason(b)
  if (reason === undefined) return undefined
  if (strict(env)) throw new Error(`CI=true and a test peer is missing: ${reason}`)
  return reason
}

/** In a vitest test: skip (printing why) or fail under CI when a tool is missing. */
export function requireBinary(ctx: { skip: (note?: string) => void }, b: Binary): void {
  const reason = gate(b)
  if (reason !== undefined) {
    process.stderr.write(`[skipped] ${reason}\n`)
    ctx.skip(reason)
  }
}
