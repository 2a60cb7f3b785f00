/**
 * The register codec: Modbus registers ↔ engineering values, shared by the edge
 * (decoding reads, encoding writes) and the simulators (serving register images).
 * Pure TypeScript: no I/O.
 */
export type { Value, PointResult, EncodeResult } from './result.ts'
export { decodePoint, decodePointAs, decodeRaw, isSentinel, rangeProblem, type Raw, type RawResult } from './decode.ts'
export { decodeBlocks, covers, type Block, type DecodedBlocks } from './blocks.ts'
export { encodePoint, encodeRaw, encodeBitInto } from './encode.ts'
export { encodeImage, readImage, writeWords, type RegisterImage } from './image.ts'
export { reorder, swapBytes, swapsBytes, swapsWords, wordsToBytes, bytesToWords, type OrderScope } from './words.ts'
export { toEngineering, toRawNumber, fractionDigits, FLOAT_SIGNIFICANT_DIGITS } from './scale.ts'
export { isNumericType, isIntegerType, isFloatType, layoutProblem, type NumericType, type IntegerType } from './layout.ts'
