/**
 * What the OPC UA driver needs to know about one device (a PLC or an OPC UA gateway):
 * where it is, how to sample it, and which nodes become which reading points. A plain
 * type: the gateway config (an `opcua` bus, a device with `nodes`) is mapped onto it by
 * `edge/agent/description.ts` `opcuaDevices`.
 */
import { POINT_NAME_PATTERN } from '../../shared/mqtt/messages.ts'
import { ID_PATTERN } from '../../shared/mqtt/topics.ts'

/** One node read as one reading point. */
export interface OpcuaPointSpec {
  /** Reading point name, snake_case (`POINT_NAME_PATTERN`). */
  name: string
  /** OPC UA NodeId string (OPC UA Part 6 §5.3.1.10), e.g. `ns=1;s=Pump1.Speed`. */
  nodeId: string
  /** Engineering unit, informational. */
  unit?: string
  /** Valid range of a numeric value, bounds inclusive; outside it the point gets `out_of_range`. */
  range?: { min?: number; max?: number }
}

/**
 * `subscribe`: one subscription, one monitored item per point (report by exception);
 * `poll`: one Read of every node per interval.
 */
export type OpcuaMode = 'subscribe' | 'poll'

/** One OPC UA device. */
export interface OpcuaDeviceSpec {
  /** Device id (`ID_PATTERN`). */
  id: string
  /** `opc.tcp://host:port[/path]`. */
  endpoint: string
  points: OpcuaPointSpec[]
  mode: OpcuaMode
  /** Poll period (`poll`), or the monitored items' samplingInterval and the publishing interval (`subscribe`). */
  intervalMs: number
}

const pointName = new RegExp(POINT_NAME_PATTERN)
const deviceId = new RegExp(ID_PATTERN)

/** Every problem with a spec, as `field: reason`; empty when it is usable. */
export function specProblems(spec: OpcuaDeviceSpec): string[] {
  const problems: string[] = []
  if (!deviceId.test(spec.id)) problems.push(`id: ${JSON.stringify(spec.id)} does not match ${ID_PATTERN}`)
  if (!/^opc\.tcp:\/\/[^/:]+(:\d+)?(\/.*)?$/.test(spec.endpoint)) problems.push(`endpoint: ${JSON.stringify(spec.endpoint)} is not opc.tcp://host[:port][/path]`)
  if (spec.mode !== 'subscribe' && spec.mode !== 'poll') problems.push(`mode: must be subscribe or poll`)
  if (!Number.isInteger(spec.intervalMs) || spec.intervalMs < 50) problems.push(`intervalMs: must be an integer ≥ 50`)
  if (spec.points.length === 0) problems.push('points: at least one point is needed')
  const seen = new Set<string>()
  spec.points.forEach((p, i) => {
    if (!pointName.test(p.name)) problems.push(`points[${i}].name: ${JSON.stringify(p.name)} does not match ${POINT_NAME_PATTERN}`)
    if (seen.has(p.name)) problems.push(`points[${i}].name: duplicate ${JSON.stringify(p.name)}`)
    seen.add(p.name)
    if (p.nodeId.trim() === '') problems.push(`points[${i}].nodeId: empty`)
    const { min, max } = p.range ?? {}
    if (min !== undefined && max !== undefined && !(min <= max)) problems.push(`points[${i}].range: min ${min} > max ${max}`)
  })
  return problems
}
