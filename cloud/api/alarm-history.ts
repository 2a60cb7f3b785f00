/**
 * An alarm as it was after one of its transitions, folded from its own logged history
 * with the lifecycle reducer. The engine keeps only each key's newest alarm; an older
 * alarm of the key (`#1` once `#2` opened) and the alarm "as of" a replayed transition
 * (SSE resume) come from here.
 */
import { apply, type Alarm } from '../alarms/lifecycle.ts'
import type { StoredTransition } from '../alarms/store.ts'

/** What the reducer needs of the closed alarm before `#seq` (its raise opens `#seq`). */
function predecessor(t: StoredTransition): Alarm | undefined {
  const seq = Number(t.alarmId.slice(t.alarmId.lastIndexOf('#') + 1))
  if (!(seq > 1)) return undefined
  return { id: `${t.key}#${seq - 1}`, key: t.key, seq: seq - 1, status: 'CLEARED_ACK' } as Alarm
}

/**
 * Folds `history` (one alarm id's transitions, oldest first) up to and including the
 * transition `uptoId`. Undefined when the history is empty or does not replay.
 */
export function foldAlarm(history: readonly StoredTransition[], uptoId = Number.POSITIVE_INFINITY): Alarm | undefined {
  let alarm: Alarm | undefined
  for (const [i, t] of history.entries()) {
    if (t.id > uptoId) break
    const r = apply(i === 0 ? predecessor(t) : alarm, t.action)
    if (r.alarm === undefined || r.transition === undefined || r.alarm.id !== t.alarmId) return undefined
    alarm = r.alarm
  }
  return alarm
}

/** Applies one more transition to an alarm folded so far (undefined when it does not apply). */
export function applyTransition(alarm: Alarm, t: StoredTransition): Alarm | undefined {
  const r = apply(alarm, t.action)
  return r.transition !== undefined && r.alarm?.id === t.alarmId ? r.alarm : undefined
}
