/**
 * The physical models behind the simulated devices. Pure and deterministic for a
 * seed; stepped in simulated seconds (`step(dtS)`), never in wall-clock time.
 */
export * from './quantities.ts'
export * from './random.ts'
export * from './ambient.ts'
export * from './water-level.ts'
export * from './pipe-pressure.ts'
export * from './manhole-cover.ts'
