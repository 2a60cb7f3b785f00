#!/usr/bin/env node
// The `muni` command. Plain JavaScript so npm can link it as a bin. `muni edge run`
// runs the agent's precompiled bundle (agent-bundle.mjs); everything else registers
// tsx's loader and hands over to the TypeScript entry point.
import { agentBundle, isAgentRun, tuneV8ForAgent } from './agent-bundle.mjs'

const argv = process.argv.slice(2)
// A part started by `muni demo` stops (SIGTERM, so cleanly) when the demo's end of its
// stdin closes — also when the demo itself was killed with SIGKILL and could not stop it.
if (process.env.MUNI_STOP_WITH_PARENT === '1') {
  process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'))
  process.stdin.resume()
  process.stdin.unref?.()
}
if (isAgentRun(argv)) tuneV8ForAgent()
const bundle = isAgentRun(argv) ? agentBundle() : undefined
if (bundle !== undefined) {
  const { main } = await import(bundle)
  process.exitCode = await main(argv)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  const { main } = await import('./main.ts')
  process.exitCode = await main(argv)
}
