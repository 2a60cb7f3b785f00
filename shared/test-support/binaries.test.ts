import { describe, expect, it } from 'vitest'
import { BINARIES, gate, requireBinary } from './binaries.ts'

describe('external test peers', () => {
  const absent = { package: 'no-such-package', probe: ['muni-no-such-binary-7f3a'] } as const

  it('a missing tool skips the test with its reason on a developer machine', () => {
    expect(gate(absent, {})).toMatch(/muni-no-such-binary-7f3a is not available \(ENOENT\); install the Debian package no-such-package/)
  })

  it('a missing tool fails the test under CI=true', () => {
    expect(() => gate(absent, { CI: 'true' })).toThrow(/CI=true and a test peer is missing: muni-no-such-binary-7f3a/)
  })

  it('a present tool is let through', () => {
    expect(gate({ package: 'nodejs', probe: [process.execPath, '--version'] }, { CI: 'true' })).toBeUndefined()
  })

  // Every peer the README lists is really installed where the suite runs (CI installs them).
  for (const [name, b] of Object.entries(BINARIES)) {
    it(`${name} (${b.package}) is installed`, (ctx) => {
      requireBinary(ctx, b)
      expect(gate(b, { CI: 'true' })).toBeUndefined()
    })
  }
})
