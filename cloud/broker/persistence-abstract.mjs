// Runs aedes-persistence's own conformance suite (node_modules/aedes-persistence/abstract.js,
// node:test) against SqlitePersistence, each test on a fresh database file.
//   node --import tsx --test cloud/broker/persistence-abstract.mjs
// persistence-abstract.test.ts spawns exactly this and asserts it passes.
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { SqlitePersistence } from './sqlite-persistence.ts'

const require = createRequire(import.meta.url)
const abstract = require('aedes-persistence/abstract.js')

const dir = mkdtempSync(join(tmpdir(), 'muni-broker-abstract-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

abstract({
  test,
  testAsync: true,
  persistence: () => new SqlitePersistence({ file: join(dir, `p${++n}.sqlite`) }),
})
