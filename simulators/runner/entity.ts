/**
 * One simulated field device as the runner holds it: the physical model of its
 * kind, the binding of its profile's points to the model's quantities, the
 * `SimulatedDevice` that answers Modbus, and the faults a scenario or the command
 * line put on it.
 *
 * Faults come in three kinds here:
 * - device faults (`SimulatedDevice.setFault`): how the whole device answers;
 * - point faults (a scenario fault with `point:`): one point held (`stuck`), noisy
 *   (`noise`, normal with `amplitude` as standard deviation) or serving a sentinel;
 * - lost requests (a scenario `dropout` with `probability`): that share of requests
 *   gets no answer, drawn from a seeded generator.
 */
import { encodePoint, isFloatType, toRawNumber, type Value } from '../../shared/codec/index.ts'
import type { ResolvedPoint } from '../../shared/profile/resolve.ts'
import { SimulatedDevice } from '../device/device.ts'
import { NO_FAULT, type Fault } from '../device/faults.ts'
import { ManholeCoverModel, PipePressureModel, WaterLevelModel, createRng, type CoverParams, type PipeParams, type Rng, type UnderpassParams } from '../models/index.ts'
import type { ModbusUnit, Reply } from '../modbus/unit.ts'
import type { FaultParams } from '../scenarios/scenario.ts'
import type { TargetDevice } from '../scenarios/timeline.ts'
import { bindProfile, constantValues, liveValues, type ProfileBinding } from './binding.ts'
import { formatFault } from './fault-spec.ts'
import type { SimDeviceSpec } from './plan.ts'

export type AnyModel =
  | { readonly kind: 'water-level'; readonly model: WaterLevelModel }
  | { readonly kind: 'pipe-pressure'; readonly model: PipePressureModel }
  | { readonly kind: 'manhole-cover'; readonly model: ManholeCoverModel; readonly link?: { readonly level: string; readonly roadOffsetM: number } }

/** A problem met while simulating: a value the codec refuses, a fault the device cannot show… Reported, never fatal. */
export interface SimProblem {
  device: string
  point?: string
  message: string
}

type PointFault =
  | { kind: 'hold'; value: Value | undefined }
  | { kind: 'noise'; sd: number }
  | { kind: 'sentinel'; raw: number }

/** Share of requests lost by a scenario `dropout` that gives no probability. */
export const DEFAULT_LOSS_PROBABILITY = 0.5

export interface EntityOptions {
  spec: SimDeviceSpec
  seed: number | string
  startTimeOfDayS: number
  now?: () => number
  quirks?: boolean
  /** What a read of addresses no point maps gets (default: exception 02, as real devices answer). */
  unmapped?: 'exception' | 'zeros'
  report: (p: SimProblem) => void
}

export class SimEntity {
  readonly spec: SimDeviceSpec
  readonly target: TargetDevice
  readonly binding: ProfileBinding
  readonly device: SimulatedDevice
  readonly model: AnyModel
  /** What the servers talk to: the device, behind the lost-request fault. */
  readonly unit: ModbusUnit
  /** Engineering values last written, by point (constants and model-fed points; not status words). */
  readonly values: Record<string, Value> = {}
  private readonly report: (p: SimProblem) => void
  private readonly constants: Readonly<Record<string, Value>>
  private readonly pointFaults = new Map<string, PointFault>()
  private readonly noiseRng: Rng
  private readonly lossRng: Rng
  private lossProbability = 0

  constructor(opts: EntityOptions) {
    const { spec } = opts
    this.spec = spec
    this.report = opts.report
    this.target = { id: spec.id, kind: spec.kind, site: spec.site, gateway: spec.gateway }
    const seed = `${String(opts.seed)}/${spec.id}`
    this.noiseRng = createRng(`${seed}/point-noise`)
    this.lossRng = createRng(`${seed}/loss`)
    try {
      this.model = makeModel(spec, seed, opts.startTimeOfDayS)
    } catch (err) {
      // Parameters the district schema allows but the model refuses (night pressure below peak…).
      throw new Error(`device ${spec.id}: ${(err as Error).message}`)
    }
    this.binding = bindProfile(spec.profile)
    this.device = new SimulatedDevice({ profile: spec.profile, seed, ...(opts.now ? { now: opts.now } : {}), ...(opts.quirks === undefined ? {} : { quirks: opts.quirks }), ...(opts.unmapped === undefined ? {} : { unmapped: opts.unmapped }) })
    this.constants = constantValues(this.binding)
    this.write(this.constants)
    const device = this.device
    this.unit = {
      turnaroundMs: device.turnaroundMs,
      respond: (pdu): Reply => (this.lossProbability > 0 && this.lossRng.next() < this.lossProbability ? { kind: 'silent' } : device.respond(pdu)),
    }
  }

  get id(): string {
    return this.spec.id
  }

  /** The fault in force, as the command line spells it (`none`, `exception:2`, …), plus point faults and losses. */
  describeFault(): string {
    const parts = [formatFault(this.device.fault)]
    for (const [point, f] of this.pointFaults) parts.push(`${point}:${f.kind === 'hold' ? 'stuck' : f.kind}`)
    if (this.lossProbability > 0) parts.push(`loss:${this.lossProbability}`)
    return parts.filter((p) => p !== 'none').join(',') || 'none'
  }

  /** Writes the model's current readings through the binding, then the point faults. */
  publish(): void {
    const { values, problems } = liveValues(this.binding, this.model.model.readings())
    for (const p of problems) this.report({ device: this.id, point: p.point, message: `model value ${String(p.value)} cannot be served: ${p.reason}` })
    const raws: [string, number][] = []
    for (const [name, f] of this.pointFaults) {
      const point = this.point(name)
      if (!point) continue
      // A held or noisy value may lie outside the point's range, as a broken sensor's
      // does: then the raw value it stands for is served.
      const serve = (v: Value): void => {
        delete values[name]
        if (encodePoint(point, v).ok) values[name] = v
        else if (typeof v === 'number') raws.push([name, toRawNumber(v, point.scale, point.offset)])
        else this.report({ device: this.id, point: name, message: `fault value ${JSON.stringify(v)} does not fit a ${point.type} point` })
      }
      if (f.kind === 'hold') {
        if (f.value !== undefined) serve(f.value)
      } else if (f.kind === 'noise') {
        // Noise around the true value (a constant's too), never around last step's noisy one.
        const v = values[name] ?? this.constants[name]
        if (typeof v === 'number') serve(v + this.noiseRng.normal(0, f.sd))
      } else {
        delete values[name]
        raws.push([name, f.raw])
      }
    }
    this.write(values)
    for (const [name, raw] of raws) this.device.setRaw(name, raw)
  }

  /**
   * Serves recorded values (replay): each through the codec; a point error that
   * carries the raw value the device sent (sentinel, NaN, out of range) serves that
   * raw value again, so the edge decodes the same error.
   */
  serve(values: Readonly<Record<string, Value>>, errors: Readonly<Record<string, { code: string; raw?: number | string }>> = {}): void {
    const ok: Record<string, Value> = {}
    for (const [name, v] of Object.entries(values)) {
      const point = this.point(name)
      if (!point) {
        this.report({ device: this.id, point: name, message: `recorded point ${name} is not in profile ${this.spec.profile.id}` })
        continue
      }
      const r = encodePoint(point, v)
      if (r.ok) ok[name] = v
      else this.report({ device: this.id, point: name, message: `recorded value ${JSON.stringify(v)} cannot be served: ${r.reason}` })
    }
    this.write(ok)
    for (const [name, e] of Object.entries(errors)) {
      const point = this.point(name)
      if (!point || e.raw === undefined) continue
      if (e.code === 'sentinel' || e.code === 'out_of_range' || e.code === 'nan') this.device.setRaw(name, e.raw)
    }
  }

  /** Sets a device fault (command line or scenario); an unusable one is reported. */
  setFault(fault: Fault): void {
    try {
      this.device.setFault(fault)
    } catch (err) {
      this.report({ device: this.id, message: `cannot set fault ${formatFault(fault)}: ${(err as Error).message}` })
    }
  }

  /** Applies a scenario `fault` event (see the module comment); `mode: none` clears every fault. */
  applyScenarioFault(p: FaultParams): void {
    if (p.mode === 'none') {
      this.setFault(NO_FAULT)
      // Model-fed points get their true value with the next step; constants get it now.
      const restore = Object.fromEntries(Object.entries(this.constants).filter(([name]) => this.pointFaults.has(name)))
      this.pointFaults.clear()
      this.write(restore)
      this.lossProbability = 0
      return
    }
    if (p.mode === 'dropout') {
      this.lossProbability = p.probability ?? DEFAULT_LOSS_PROBABILITY
      return
    }
    if (p.point !== undefined && (p.mode === 'stuck' || p.mode === 'noise' || p.mode === 'sentinel')) {
      const point = this.point(p.point)
      if (!point) {
        this.report({ device: this.id, point: p.point, message: `fault ${p.mode}: no point ${p.point} in profile ${this.spec.profile.id}` })
        return
      }
      if (p.mode === 'stuck') this.pointFaults.set(point.name, { kind: 'hold', value: p.value ?? this.values[point.name] })
      else if (p.mode === 'noise') this.pointFaults.set(point.name, { kind: 'noise', sd: p.amplitude ?? defaultNoiseSd(point) })
      else {
        const raw = p.value ?? point.sentinels[0] ?? (isFloatType(point.type) ? Number.NaN : undefined)
        if (raw === undefined) this.report({ device: this.id, point: point.name, message: 'fault sentinel: the point declares no sentinel and is not a float; give `value`' })
        else this.pointFaults.set(point.name, { kind: 'sentinel', raw })
      }
      return
    }
    if (p.point !== undefined) this.report({ device: this.id, point: p.point, message: `fault ${p.mode} applies to the whole device; point ignored` })
    switch (p.mode) {
      case 'exception':
        this.setFault({ kind: 'exception', code: (p.code ?? 4) as Extract<Fault, { kind: 'exception' }>['code'] })
        return
      case 'noise':
        this.setFault(p.amplitude === undefined ? { kind: 'noise' } : { kind: 'noise', amplitude: p.amplitude })
        return
      case 'wrong-order':
        this.setFault(p.order === undefined ? { kind: 'wrong-order' } : { kind: 'wrong-order', order: p.order })
        return
      default:
        this.setFault({ kind: p.mode })
    }
  }

  private point(name: string): ResolvedPoint | undefined {
    return this.spec.profile.points.find((p) => p.name === name)
  }

  private write(values: Record<string, Value>): void {
    try {
      this.device.set(values)
      Object.assign(this.values, values)
    } catch (err) {
      // Values are checked with the codec before they get here; reaching this is a bug.
      this.report({ device: this.id, message: (err as Error).message })
    }
  }
}

/** Point noise when a scenario gives no amplitude: 5 % of the point's range, else 1 unit. */
function defaultNoiseSd(point: ResolvedPoint): number {
  const { min, max } = point.range ?? {}
  return min !== undefined && max !== undefined ? (max - min) * 0.05 : 1
}

function makeModel(spec: SimDeviceSpec, seed: string, startTimeOfDayS: number): AnyModel {
  const params = { ...(spec.model ?? {}), startTimeOfDayS }
  switch (spec.kind) {
    case 'water-level':
      return { kind: 'water-level', model: new WaterLevelModel(params as Partial<UnderpassParams>, seed) }
    case 'pipe-pressure':
      return { kind: 'pipe-pressure', model: new PipePressureModel(params as Partial<PipeParams>, seed) }
    case 'manhole-cover': {
      const { linkedLevel, roadOffsetM, ...rest } = params as Partial<CoverParams> & { linkedLevel?: string; roadOffsetM?: number }
      const model = new ManholeCoverModel(rest, seed)
      return linkedLevel === undefined ? { kind: 'manhole-cover', model } : { kind: 'manhole-cover', model, link: { level: linkedLevel, roadOffsetM: roadOffsetM ?? 0 } }
    }
  }
}
