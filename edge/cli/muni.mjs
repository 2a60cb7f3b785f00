#!/usr/bin/env node
// The `muni` command. Plain JavaScript so npm can link it as a bin; it registers
// tsx's loader and hands over to the TypeScript entry point.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('./main.ts')
process.exitCode = await main(process.argv.slice(2))
