/**
 * What the recorder subscribes to. Filters come from `shared/mqtt` (`filters.*`), never
 * from string concatenation here; user-supplied `--topic` filters are checked against
 * MQTT 3.1.1 §4.7.1 before any subscription is attempted.
 */
import { filters } from '../../shared/mqtt/index.ts'

/**
 * Everything gateways publish, from every gateway of every site: telemetry, state, birth,
 * events and command responses (`filters.cloud()`). Requests to gateways (`command`) are
 * left out on purpose: a replay of such a recording must never re-send write commands to
 * real devices. Record them only by asking, with `--topic muni/v1/+/+/command`.
 */
export function defaultFilters(): string[] {
  return [...filters.cloud()]
}

/** Why `filter` is not a valid MQTT topic filter, or undefined (MQTT 3.1.1 §4.7.1, §4.7.3). */
export function filterProblem(filter: string): string | undefined {
  if (filter.length === 0) return 'a topic filter cannot be empty'
  if (filter.includes('\u0000')) return 'a topic filter cannot contain U+0000'
  const levels = filter.split('/')
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return '# must be a whole level and the last one'
    if (level.includes('+') && level !== '+') return '+ must be a whole level'
  }
  return undefined
}
