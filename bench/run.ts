/**
 * `npm run bench -- NAME [args…]` runs bench/NAME.ts, whose default export is
 * `(args: string[]) => Promise<void>`. Each bench measures ours and a baseline
 * side by side in one run and prints ratios; nothing here asserts on timing.
 */
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const names = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts'))
  .map((f) => f.slice(0, -3))
  .sort()
const [name, ...args] = process.argv.slice(2)
if (!name || name === '--help' || !names.includes(name)) {
  process.stderr.write(`usage: npm run bench -- NAME [args…]\nbenchmarks: ${names.join(', ') || '(none yet)'}\n`)
  process.exit(name && name !== '--help' ? 2 : 0)
}
const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as { default: (args: string[]) => Promise<void> }
await mod.default(args)
// A bench is done when its function returns; a keep-alive socket or timer left by a library
// must not keep the process (and a script waiting for it) alive.
process.exit(process.exitCode ?? 0)
