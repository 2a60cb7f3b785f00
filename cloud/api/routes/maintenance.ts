/**
 * Maintenance windows (ISA-18.2 suppression by design): while a site or a device is in
 * maintenance, alarms raised there are tracked, not announced; when the window ends,
 * those still active are announced. `GET /api/v1/maintenance` (viewer) lists the windows
 * in force; `PUT` starts or replaces one, `DELETE` ends it (engineer).
 */
import Type from 'typebox'
import type { MaintenanceScope } from '../../alarms/engine.ts'
import type { Maintenance } from '../../alarms/lifecycle.ts'
import type { RegistryView } from '../../model.ts'
import { MaintenanceBody, MaintenanceWindowSchema } from '../alarm-schemas.ts'
import type { AlarmApi, ApiDeps, ApiInstance } from '../deps.ts'
import { ApiErrors, badField } from '../errors.ts'
import { Id, errorResponses } from '../schemas.ts'
import { parseTime } from '../time.ts'
import { needAlarms } from './alarms.ts'
import { findDevice } from './registry.ts'

type Window = { from: number; until?: number }
type WindowOut = { scope: 'site' | 'device'; site?: string; gateway?: string; device?: string } & Window

const inForce = (w: Window | undefined, at: number): w is Window => w !== undefined && (w.until === undefined || w.until > at)

function windowOf(m: Maintenance, scope: MaintenanceScope, at: number): WindowOut | undefined {
  if ('site' in scope) {
    const w = m.sites[scope.site]
    return inForce(w, at) ? { scope: 'site', site: scope.site, ...w } : undefined
  }
  const w = m.devices[`${scope.gateway}/${scope.device}`]
  return inForce(w, at) ? { scope: 'device', gateway: scope.gateway, device: scope.device, ...w } : undefined
}

const what = (s: MaintenanceScope): string => ('site' in s ? `site "${s.site}"` : `device "${s.device}" on gateway "${s.gateway}"`)

export function registerMaintenanceRoutes(app: ApiInstance, deps: Pick<ApiDeps, 'alarms' | 'registry' | 'now'>): void {
  const now = deps.now ?? Date.now
  const emptyBody = async (request: { body: unknown }): Promise<void> => {
    if (request.body === undefined || request.body === null) request.body = {}
  }

  app.get(
    '/api/v1/maintenance',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Maintenance windows in force: alarms raised there are tracked, not announced',
        tags: ['alarms'],
        response: { 200: Type.Object({ windows: Type.Array(MaintenanceWindowSchema) }), ...errorResponses(503) },
      },
    },
    async () => {
      const m = needAlarms(deps.alarms).maintenance()
      const at = now()
      const windows: WindowOut[] = [
        ...Object.keys(m.sites).sort().flatMap((site) => windowOf(m, { site }, at) ?? []),
        ...Object.keys(m.devices)
          .sort()
          .flatMap((k) => {
            const [gateway = '', device = ''] = k.split('/')
            return windowOf(m, { gateway, device }, at) ?? []
          }),
      ]
      return { windows }
    },
  )

  const start = (alarms: AlarmApi, scope: MaintenanceScope, until: string | undefined): WindowOut => {
    const at = now()
    let untilMs: number | undefined
    if (until !== undefined) {
      const t = parseTime(until)
      if (!t.ok) throw badField('body', 'until', t.error)
      if (t.value <= at) throw badField('body', 'until', `must be in the future (now is ${new Date(at).toISOString()})`)
      untilMs = t.value
    }
    alarms.setMaintenance(scope, true, untilMs !== undefined ? { until: untilMs } : {})
    const w = windowOf(alarms.maintenance(), scope, now())
    if (w === undefined) throw new Error(`maintenance window for ${what(scope)} missing after it was set`)
    return w
  }

  const end = (alarms: AlarmApi, scope: MaintenanceScope): { window: WindowOut; released: number } => {
    const w = windowOf(alarms.maintenance(), scope, now())
    if (w === undefined) throw ApiErrors.NOT_FOUND(`no maintenance window in force for ${what(scope)}`)
    const released = alarms.setMaintenance(scope, false).filter((t) => t.action.type === 'release').length
    return { window: w, released }
  }

  const putSchema = (summary: string, params: ReturnType<typeof Type.Object>) => ({
    config: { role: 'engineer' as const },
    preValidation: emptyBody,
    schema: { summary, tags: ['alarms'], params, body: MaintenanceBody, response: { 200: Type.Object({ window: MaintenanceWindowSchema }), ...errorResponses(400, 404, 503) } },
  })
  const deleteSchema = (summary: string, params: ReturnType<typeof Type.Object>) => ({
    config: { role: 'engineer' as const },
    schema: {
      summary,
      tags: ['alarms'],
      params,
      response: {
        200: Type.Object({ window: MaintenanceWindowSchema, released: Type.Integer({ minimum: 0, description: 'alarms still active that are now announced' }) }),
        ...errorResponses(400, 404, 503),
      },
    },
  })
  const SiteParams = Type.Object({ site: Id('site id') })
  const DeviceParams = Type.Object({ gateway: Id('gateway id'), device: Id('device id') })

  app.put(
    '/api/v1/maintenance/sites/:site',
    putSchema('Put a site in maintenance (replaces its window); without until it lasts until DELETE', SiteParams),
    async (request) => {
      const alarms = needAlarms(deps.alarms)
      const { site } = request.params as { site: string }
      if (!deps.registry.sites().some((s) => s.site === site)) throw ApiErrors.NOT_FOUND(`site "${site}" not found`)
      const window = start(alarms, { site }, (request.body as { until?: string }).until)
      request.log.info({ maintenance: window, by: request.principal?.id }, 'maintenance started')
      return { window }
    },
  )

  app.delete('/api/v1/maintenance/sites/:site', deleteSchema("End a site's maintenance window", SiteParams), async (request) => {
    const alarms = needAlarms(deps.alarms)
    const { site } = request.params as { site: string }
    const out = end(alarms, { site })
    request.log.info({ maintenance: out.window, released: out.released, by: request.principal?.id }, 'maintenance ended')
    return out
  })

  app.put(
    '/api/v1/maintenance/devices/:gateway/:device',
    putSchema('Put a device in maintenance (replaces its window); without until it lasts until DELETE', DeviceParams),
    async (request) => {
      const alarms = needAlarms(deps.alarms)
      const { gateway, device } = request.params as { gateway: string; device: string }
      findDevice(deps.registry as RegistryView, gateway, device)
      const window = start(alarms, { gateway, device }, (request.body as { until?: string }).until)
      request.log.info({ maintenance: window, by: request.principal?.id }, 'maintenance started')
      return { window }
    },
  )

  app.delete('/api/v1/maintenance/devices/:gateway/:device', deleteSchema("End a device's maintenance window", DeviceParams), async (request) => {
    const alarms = needAlarms(deps.alarms)
    const { gateway, device } = request.params as { gateway: string; device: string }
    const out = end(alarms, { gateway, device })
    request.log.info({ maintenance: out.window, released: out.released, by: request.principal?.id }, 'maintenance ended')
    return out
  })
}
