// The edge agent's precompiled bundle. A gateway runs `muni edge run` for months on a
// few hundred MB of RAM: under tsx the process also holds tsx's loader, its TypeScript
// transform and a module record per source file (~36 MB idle, ~90 MB more with the
// agent's ~1000 modules loaded). So `muni edge run` runs one esbuild bundle of the
// agent and its pure-JavaScript dependencies instead, built on first use into
// node_modules/.cache and rebuilt when any input changed (mtime or size). Native and
// heavy optional packages stay external: better-sqlite3 and serialport load their
// .node files from their own folders, node-opcua is imported only when a gateway has
// an OPC UA bus. When the bundle cannot be built (no esbuild, read-only install) the
// agent runs from the sources under tsx, as every other command does.
//
// Plain JavaScript, as muni.mjs: it runs before any TypeScript loader is registered.
// `node edge/cli/agent-bundle.mjs --build` builds it (what the first use does, in a
// child process so that esbuild never sits in the agent's memory).
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { setFlagsFromString } from 'node:v8'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
// Two folders below the package root, like the sources it is built from, so that their
// `new URL('../../…', import.meta.url)` (shipped profiles, package.json) still resolve.
const BUNDLE = `${ROOT}node_modules/.cache/muni-edge-agent.mjs`
const MANIFEST = `${BUNDLE}.inputs.json`
const ENTRY = `${ROOT}edge/cli/agent-entry.ts`
const SELF = fileURLToPath(import.meta.url)
/** Loaded from node_modules at run time, never bundled. */
const EXTERNAL = ['better-sqlite3', 'serialport', '@serialport/*', 'node-opcua', 'node-opcua-*', 'bufferutil', 'utf-8-validate']

/**
 * V8 as a small gateway wants it, set first, before anything is loaded (measured with
 * `npm run bench -- edge --only agent`, 100 devices polled every second):
 * - the young generation kept at its initial size: V8 otherwise grows it to 3 × 16 MB
 *   under any burst of short-lived objects, start-up included, and rarely gives it back
 *   (--max-semi-space-size is read only when node starts; the growth factor at every resize);
 * - no optimising compiler (TurboFan): the agent waits on sockets and SQLite, and TurboFan's
 *   code and compile-time memory (in per-thread malloc arenas) cost ~15 MB of RSS for
 *   ~1.5 % of a core saved.
 * MUNI_EDGE_V8_FLAGS replaces the list (empty: V8's defaults).
 */
export const AGENT_V8_FLAGS = ['--semi-space-growth-factor=1', '--no-opt']

/** `muni edge run …`, unless only its help is asked for. */
export function isAgentRun(argv) {
  return argv[0] === 'edge' && argv[1] === 'run' && !argv.includes('--help') && !argv.includes('-h')
}

/** Sets the agent's V8 flags (AGENT_V8_FLAGS, or MUNI_EDGE_V8_FLAGS); first thing in the agent's process. */
export function tuneV8ForAgent() {
  for (const flag of (process.env.MUNI_EDGE_V8_FLAGS ?? AGENT_V8_FLAGS.join(' ')).split(/\s+/).filter(Boolean)) setFlagsFromString(flag)
}

/**
 * The bundle's file URL, built first when missing or stale; undefined when it cannot be
 * built (the reason goes to stderr) or MUNI_EDGE_BUNDLE=0 asks for the sources.
 */
export function agentBundle() {
  if (process.env.MUNI_EDGE_BUNDLE === '0') return undefined
  if (!fresh()) {
    try {
      execFileSync(process.execPath, [SELF, '--build'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 })
    } catch (e) {
      const why = String(e?.stderr ?? e?.message ?? e).trim().split('\n')[0]
      process.stderr.write(`muni edge run: no precompiled agent (${why}); running the TypeScript sources\n`)
      return undefined
    }
  }
  return pathToFileURL(BUNDLE).href
}

/** Whether the bundle exists and no input changed since it was built. */
function fresh() {
  let inputs
  try {
    inputs = JSON.parse(readFileSync(MANIFEST, 'utf8'))
    statSync(BUNDLE)
  } catch {
    return false
  }
  for (const [file, [mtimeMs, size]] of Object.entries(inputs)) {
    try {
      const s = statSync(file)
      if (s.mtimeMs !== mtimeMs || s.size !== size) return false
    } catch {
      return false
    }
  }
  return true
}

async function build() {
  const { build: esbuild } = await import('esbuild')
  mkdirSync(dirname(BUNDLE), { recursive: true })
  const result = await esbuild({
    entryPoints: [ENTRY],
    // Code behind a dynamic import (the OPC UA driver) goes to its own chunk, so that its
    // external imports (node-opcua) load only when that import runs.
    outdir: dirname(BUNDLE),
    entryNames: 'muni-edge-agent',
    chunkNames: 'muni-edge-agent-[name]-[hash]',
    splitting: true,
    outExtension: { '.js': '.mjs' },
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    metafile: true,
    logLevel: 'error',
    // Without comments and indentation: V8 keeps the whole source in memory, as UTF-16 when
    // one comment has a non-ASCII character. Names stay, so stack traces still read; the
    // map next to the bundle (node --enable-source-maps) leads back to the sources.
    minifyWhitespace: true,
    legalComments: 'none',
    charset: 'ascii',
    sourcemap: true,
    // CommonJS dependencies call require() for Node's built-ins.
    banner: { js: "import { createRequire as __muniRequire } from 'node:module'; const require = __muniRequire(import.meta.url);" },
  })
  const inputs = {}
  for (const file of [SELF, ...Object.keys(result.metafile.inputs).map((f) => `${ROOT}${f}`)]) {
    const s = statSync(file)
    inputs[file] = [s.mtimeMs, s.size]
  }
  // Each file whole (written aside, then renamed); the manifest last, so a reader never
  // takes a manifest for a bundle it does not describe.
  // Chunks first (new names for new contents), then the entry, the manifest last.
  const outputs = result.outputFiles.map((f) => [f.path, f.contents]).sort(([a], [b]) => Number(a.startsWith(BUNDLE)) - Number(b.startsWith(BUNDLE)))
  for (const [path, contents] of [...outputs, [MANIFEST, JSON.stringify(inputs)]]) {
    writeFileSync(`${path}.${process.pid}.tmp`, contents)
    renameSync(`${path}.${process.pid}.tmp`, path)
  }
  // Chunks of earlier builds. An agent still running one has it loaded already.
  const kept = new Set(outputs.map(([path]) => basename(path)))
  for (const f of readdirSync(dirname(BUNDLE))) if (/^muni-edge-agent-.*\.mjs(\.map)?$/.test(f) && !kept.has(f)) rmSync(join(dirname(BUNDLE), f), { force: true })
}

if (process.argv[1] === SELF && process.argv[2] === '--build') await build()
