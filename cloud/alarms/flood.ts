/**
 * Alarm-flood control (ISA-18.2 §16 "alarm floods"; CONVENTIONS.md: no more than ~10
 * alarms per 10 minutes in steady state). When a gateway goes dark, every device behind
 * it goes stale one by one; the control room should hear one thing: "gateway X is
 * offline". So, pure:
 *
 * - `gateway-offline` (its MQTT Last Will) raises one parent alarm for the gateway;
 * - while it is offline, raises of `stale` alarms of its devices become children of that
 *   parent: tracked and listed, not announced (`parent` in the lifecycle);
 * - `gateway-online` clears the parent, and every child with it (a child that clears
 *   closes at once: nobody was told of it). Later stale clears from the evaluator then
 *   find the child closed and change nothing.
 *
 * Every other event passes through unchanged. Not handled: a device's stale alarm raised
 * before the gateway's Last Will arrived stays a separate, announced alarm.
 */
import type { AlarmEvent } from './evaluate.ts'
import { alarmKey, fromEvent, SYSTEM, type Action } from './lifecycle.ts'
import type { Severity } from './rules.ts'

/** Device id the gateway's own alarms use (device ids never contain '@'). */
export const GATEWAY_DEVICE = '@gateway'
export const GATEWAY_OFFLINE_RULE = 'gateway.offline'
/** Rule kinds grouped under an offline gateway. */
export const CHILD_KINDS: ReadonlySet<string> = new Set(['stale'])

export interface FloodState {
  /** Offline gateways, by gateway id (unique in a deployment). */
  offline: Record<string, { site: string; since: number; parent: string; children: string[] }>
}

export type FloodInput =
  | { type: 'gateway-offline'; site: string; gateway: string; at: number; severity?: Severity }
  | { type: 'gateway-online'; site: string; gateway: string; at: number }
  | { type: 'alarm'; event: AlarmEvent; maintenance?: boolean }

export const EMPTY_FLOOD: FloodState = { offline: {} }

export function parentKey(gateway: string): string {
  return alarmKey({ gateway, device: GATEWAY_DEVICE, rule: GATEWAY_OFFLINE_RULE })
}

/** Routes one input to the lifecycle actions it stands for. */
export function route(state: FloodState, input: FloodInput): { state: FloodState; actions: Action[] } {
  switch (input.type) {
    case 'gateway-offline': {
      if (state.offline[input.gateway]) return { state, actions: [] }
      const parent = parentKey(input.gateway)
      const next: FloodState = { offline: { ...state.offline, [input.gateway]: { site: input.site, since: input.at, parent, children: [] } } }
      const action: Action = {
        type: 'raise',
        at: input.at,
        actor: SYSTEM,
        site: input.site,
        gateway: input.gateway,
        device: GATEWAY_DEVICE,
        rule: GATEWAY_OFFLINE_RULE,
        kind: 'gateway',
        severity: input.severity ?? 'MAJOR',
        message: `gateway ${input.gateway} offline (last will)`,
      }
      return { state: next, actions: [action] }
    }
    case 'gateway-online': {
      const g = state.offline[input.gateway]
      if (!g) return { state, actions: [] }
      const offline = { ...state.offline }
      delete offline[input.gateway]
      const message = `gateway ${input.gateway} back online`
      const actions: Action[] = [
        { type: 'clear', key: g.parent, at: input.at, actor: SYSTEM, message },
        ...g.children.map((key): Action => ({ type: 'clear', key, at: input.at, actor: SYSTEM, message })),
      ]
      return { state: { offline }, actions }
    }
    case 'alarm': {
      const e = input.event
      const g = state.offline[e.gateway]
      const m = input.maintenance ? { maintenance: true } : {}
      if (!g || e.type !== 'raise' || !CHILD_KINDS.has(e.kind)) return { state, actions: [fromEvent(e, m)] }
      const key = alarmKey(e)
      const children = g.children.includes(key) ? g.children : [...g.children, key]
      const next: FloodState = { offline: { ...state.offline, [e.gateway]: { ...g, children } } }
      return { state: next, actions: [fromEvent(e, { ...m, parent: g.parent })] }
    }
  }
}
