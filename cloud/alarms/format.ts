/** Numbers and durations in alarm messages. */

export function round2(x: number): number {
  return Math.round(x * 100) / 100
}

/** Numbers in messages: two decimals below 100, none above. */
export function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2)
}

/** `45 s`, `14 min`, `2 h 05 min`. */
export function duration(s: number): string {
  if (!Number.isFinite(s)) return 'never'
  if (s < 119.5) return `${Math.round(s)} s`
  const m = Math.round(s / 60)
  if (m < 120) return `${m} min`
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`
}
