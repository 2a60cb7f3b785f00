/** `muni edge status`: a running agent's /health as a few lines for a field engineer. */
import type { HealthReport } from './server.ts'

const ago = (at: number | null, now: number): string => (at === null ? 'never' : `${Math.max(0, Math.round((now - at) / 1000))} s ago`)

export function renderStatus(h: HealthReport, now: number): string {
  const lines = [
    `gateway  ${h.gateway} (site ${h.site}): ${h.status}, up ${h.uptimeS} s`,
    `uplink   ${h.uplink.connected ? 'connected' : `not connected (${h.uplink.state})`}${h.uplink.session !== null ? `, session ${h.uplink.session}` : ''}, last publish ${ago(h.uplink.lastPublishAt, now)}`,
    `backlog  ${h.backlog.readings} reading(s)${h.backlog.oldestAgeS !== null ? `, oldest ${h.backlog.oldestAgeS} s` : ''}, ${h.backlog.dropped} dropped`,
    `buses    ${h.buses.length}`,
    ...h.buses.map((b) => `  ${b.id}  ${b.target}  ${b.requests} request(s)${b.error !== null ? `  error: ${b.error}` : ''}`),
    `devices  ${h.devices.length} (${h.devices.filter((d) => d.available).length} available)`,
    ...h.devices.map((d) => {
      const err = d.lastError as { code?: string; detail?: string } | null
      return `  ${d.id}  ${d.bus}  ${d.available ? 'available' : 'UNAVAILABLE'}  last success ${ago(d.lastSuccessAt, now)}${err?.code !== undefined ? `  last error ${err.code}${err.detail !== undefined ? ` (${err.detail})` : ''}` : ''}`
    }),
  ]
  return lines.join('\n')
}
