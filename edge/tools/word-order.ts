/**
 * The word-order wizard: decodes every multi-register number (int32, uint32,
 * float32, float64) of a read under all four word orders and says which order
 * gives plausible values. Wrong word order is the most reported cause of
 * nonsense floats on gateways (CONVENTIONS.md, Modbus), and the commissioning
 * engineer usually finds it by trying orders one at a time; this does it at once.
 *
 * Pure: the probe reads the device, this only looks at the blocks.
 *
 * A value is plausible under an order when the codec accepts it (finite, not a
 * sentinel, inside the point's range, via `decodePointAs`) and, for floats, its
 * magnitude is neither tiny nor huge: words read in the wrong order put mantissa
 * bits into the exponent, which gives subnormals like 2.3e-41 or values like
 * 7e+29, and a profile's range does not always exclude them (2.3e-41 lies in
 * 0..16 bar). Zero stays plausible.
 */
import { covers, decodePointAs, type Block, type PointResult } from '../../shared/codec/index.ts'
import type { ResolvedPoint, ResolvedProfile } from '../../shared/profile/resolve.ts'
import { WORD_ORDERS, type WordOrder } from '../../shared/profile/schema.ts'

/** Types whose value spans several registers, where word order matters. */
export const MULTI_REGISTER_TYPES = ['int32', 'uint32', 'float32', 'float64'] as const

/** Floats with a magnitude outside this band (zero excepted) look like words read in the wrong order. */
export const FLOAT_PLAUSIBLE = { min: 1e-12, max: 1e12 } as const

/** How one order fares on the multi-register points that were read. */
export interface OrderRank {
  order: WordOrder
  /** Points whose value under this order is plausible. */
  plausible: number
  /** Multi-register points that were read. */
  total: number
  /** Names of the plausible points. */
  points: string[]
}

/** One multi-register point under every order. */
export interface WizardPoint {
  name: string
  type: ResolvedPoint['type']
  unit?: string
  /** The order the profile declares for it. */
  declared: WordOrder
  /** The decoded value (or point error) under each order. */
  results: Record<WordOrder, PointResult>
  /** Orders whose value is plausible. */
  plausible: WordOrder[]
}

export type Verdict =
  /** No multi-register point was read: nothing to judge. */
  | { kind: 'no-points'; message: string }
  /** The declared order(s) give plausible values for every point. */
  | { kind: 'ok'; message: string }
  /** The declared order does not fit, and other order(s) fit every point. */
  | { kind: 'mismatch'; message: string; suggested: WordOrder[] }
  /** No order fits every point. */
  | { kind: 'unclear'; message: string }

export interface WordOrderReport {
  /** The profile's order when all its multi-register points share one, else `mixed`. */
  declared: WordOrder | 'mixed'
  points: WizardPoint[]
  /** One entry per order, in ABCD, CDAB, BADC, DCBA order. */
  ranks: OrderRank[]
  /** Orders under which every read multi-register point is plausible (empty when none, or when no point was read). */
  fitting: WordOrder[]
  verdict: Verdict
}

/** Whether `type` spans several registers, so its word order matters. */
export function isMultiRegister(type: ResolvedPoint['type']): boolean {
  return (MULTI_REGISTER_TYPES as readonly string[]).includes(type)
}

/** The words of `point` inside `blocks`, or undefined when no block covers it. */
export function wordsOf(point: ResolvedPoint, blocks: readonly Block[]): number[] | undefined {
  const block = blocks.find((b) => covers(b, point))
  if (!block) return undefined
  const from = point.address - block.start
  const words: number[] = []
  for (let i = 0; i < point.registers; i++) {
    const w = block.data[from + i]
    words.push(typeof w === 'boolean' ? (w ? 1 : 0) : (w ?? Number.NaN))
  }
  return words
}

/** Whether a decoded result counts as plausible (see the module comment). */
export function isPlausible(point: Pick<ResolvedPoint, 'type'>, r: PointResult): boolean {
  if (!r.ok || typeof r.value !== 'number') return false
  if (point.type !== 'float32' && point.type !== 'float64') return true
  const m = Math.abs(r.value)
  return m === 0 || (m >= FLOAT_PLAUSIBLE.min && m <= FLOAT_PLAUSIBLE.max)
}

function wizardPoints(profile: ResolvedProfile, blocks: readonly Block[]): WizardPoint[] {
  const out: WizardPoint[] = []
  for (const p of profile.points) {
    if (!isMultiRegister(p.type)) continue
    const words = wordsOf(p, blocks)
    if (!words) continue
    const results = Object.fromEntries(WORD_ORDERS.map((o) => [o, decodePointAs(p, words, o)])) as Record<WordOrder, PointResult>
    out.push({
      name: p.name,
      type: p.type,
      ...(p.unit !== undefined && { unit: p.unit }),
      declared: p.order,
      results,
      plausible: WORD_ORDERS.filter((o) => isPlausible(p, results[o])),
    })
  }
  return out
}

/**
 * Per word order, how many of the multi-register points covered by `blocks` are
 * plausible when every one of them is decoded in that order. Points not covered
 * (not read, or their read failed) are left out of `total`.
 */
export function rankOrders(profile: ResolvedProfile, blocks: readonly Block[]): OrderRank[] {
  return ranksOf(wizardPoints(profile, blocks))
}

function ranksOf(points: readonly WizardPoint[]): OrderRank[] {
  return WORD_ORDERS.map((order) => {
    const ok = points.filter((p) => p.plausible.includes(order)).map((p) => p.name)
    return { order, plausible: ok.length, total: points.length, points: ok }
  })
}

const orList = (orders: readonly string[]): string => (orders.length <= 1 ? (orders[0] ?? '') : `${orders.slice(0, -1).join(', ')} or ${orders.at(-1)}`)

/** The whole wizard: every point under every order, the ranking, and a plain-words verdict. */
export function wordOrderWizard(profile: ResolvedProfile, blocks: readonly Block[]): WordOrderReport {
  const points = wizardPoints(profile, blocks)
  const ranks = ranksOf(points)
  const total = points.length
  const declaredSet = [...new Set(profile.points.filter((p) => isMultiRegister(p.type)).map((p) => p.order))]
  const declared: WordOrder | 'mixed' = declaredSet.length === 1 && declaredSet[0] !== undefined ? declaredSet[0] : 'mixed'
  const fitting = total === 0 ? [] : ranks.filter((r) => r.plausible === total).map((r) => r.order)
  const says = declared === 'mixed' ? `profile says ${points.map((p) => `${p.name} ${p.declared}`).join(', ')}` : `profile says ${declared}`
  const declaredOk = points.filter((p) => p.plausible.includes(p.declared)).length
  let verdict: Verdict
  if (total === 0) {
    verdict = { kind: 'no-points', message: 'no multi-register point was read: word order cannot be judged' }
  } else if (declaredOk === total) {
    verdict = { kind: 'ok', message: declared === 'mixed' ? `${says}; values look right in the declared orders` : `${says}; values look right under ${declared}` }
  } else if (fitting.length > 0) {
    verdict = {
      kind: 'mismatch',
      suggested: fitting,
      message: `${says} but only ${orList(fitting)} ${fitting.length === 1 ? 'gives' : 'give'} plausible values — check the device's word order setting`,
    }
  } else {
    const best = Math.max(...ranks.map((r) => r.plausible))
    const leaders = ranks.filter((r) => r.plausible === best && best > 0).map((r) => r.order)
    verdict = {
      kind: 'unclear',
      message:
        `${says}; ${declaredOk} of ${total} multi-register point(s) look right as declared and no single order fits them all` +
        (leaders.length > 0 ? ` (best: ${orList(leaders)} with ${best} of ${total})` : '') +
        ' — check the unit id, the profile (addresses, firmware version) and the device\'s word order setting',
    }
  }
  return { declared, points, ranks, fitting, verdict }
}
