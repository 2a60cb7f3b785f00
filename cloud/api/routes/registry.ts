/**
 * The registry read routes: sites, their gateways, one gateway with its devices, a
 * filtered device list, one device. Each answers status and last values as the
 * registry knows them; an unknown site, gateway or device is a 404 naming it.
 */
import Type from 'typebox'
import type { RegistryDevice, RegistryView } from '../../model.ts'
import type { ApiInstance } from '../deps.ts'
import { ApiErrors } from '../errors.ts'
import { AvailabilitySchema, DeviceSchema, GatewaySchema, Id, SensorKindSchema, SiteSchema, errorResponses } from '../schemas.ts'

const siteExists = (registry: RegistryView, site: string): boolean => registry.sites().some((s) => s.site === site)

export function registerRegistryRoutes(app: ApiInstance, registry: RegistryView): void {
  app.get(
    '/api/v1/sites',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Every site, with gateway and device counts',
        tags: ['registry'],
        response: { 200: Type.Object({ sites: Type.Array(SiteSchema) }), ...errorResponses() },
      },
    },
    async () => ({ sites: registry.sites() }),
  )

  app.get(
    '/api/v1/sites/:site/gateways',
    {
      config: { role: 'viewer' },
      schema: {
        summary: "A site's gateways and their state",
        tags: ['registry'],
        params: Type.Object({ site: Id('site id') }),
        response: { 200: Type.Object({ site: Id('site id'), gateways: Type.Array(GatewaySchema) }), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { site } = request.params
      if (!siteExists(registry, site)) throw ApiErrors.NOT_FOUND(`site "${site}" not found`)
      return { site, gateways: registry.gateways(site) }
    },
  )

  app.get(
    '/api/v1/gateways/:site/:gateway',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One gateway with its devices',
        tags: ['registry'],
        params: Type.Object({ site: Id('site id'), gateway: Id('gateway id') }),
        response: { 200: Type.Object({ gateway: GatewaySchema, devices: Type.Array(DeviceSchema) }), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { site, gateway } = request.params
      const gw = registry.gateway(site, gateway)
      if (gw === undefined) {
        throw ApiErrors.NOT_FOUND(siteExists(registry, site) ? `gateway "${gateway}" not found in site "${site}"` : `site "${site}" not found`)
      }
      return { gateway: gw, devices: registry.devices({ site, gateway }) }
    },
  )

  app.get(
    '/api/v1/devices',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Devices with their availability and last values, filtered',
        tags: ['registry'],
        querystring: Type.Object(
          {
            site: Type.Optional(Id('only this site')),
            gateway: Type.Optional(Id('only this gateway')),
            kind: Type.Optional(SensorKindSchema),
            availability: Type.Optional(AvailabilitySchema),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ devices: Type.Array(DeviceSchema) }), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { site, gateway, kind, availability } = request.query
      // A filter naming a site or gateway that does not exist is a typo, not "no devices".
      if (site !== undefined && !siteExists(registry, site)) throw ApiErrors.NOT_FOUND(`querystring/site: site "${site}" not found`)
      if (gateway !== undefined && !registry.gateways(site).some((g) => g.gateway === gateway)) {
        throw ApiErrors.NOT_FOUND(`querystring/gateway: gateway "${gateway}" not found${site === undefined ? '' : ` in site "${site}"`}`)
      }
      const filter: { site?: string; gateway?: string } = {}
      if (site !== undefined) filter.site = site
      if (gateway !== undefined) filter.gateway = gateway
      const devices = registry
        .devices(filter)
        .filter((d) => (kind === undefined || d.kind === kind) && (availability === undefined || d.availability === availability))
      return { devices }
    },
  )

  app.get(
    '/api/v1/devices/:gateway/:device',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One device: what it is, its availability and last values',
        tags: ['registry'],
        params: Type.Object({ gateway: Id('gateway id'), device: Id('device id') }),
        response: { 200: Type.Object({ device: DeviceSchema }), ...errorResponses(400, 404) },
      },
    },
    async (request) => ({ device: findDevice(registry, request.params.gateway, request.params.device) }),
  )
}

/** The device, or a 404 that says whether the gateway or the device is unknown. */
export function findDevice(registry: RegistryView, gateway: string, device: string): RegistryDevice {
  const d = registry.device(gateway, device)
  if (d !== undefined) return d
  const gatewayKnown = registry.gateways().some((g) => g.gateway === gateway)
  throw ApiErrors.NOT_FOUND(gatewayKnown ? `device "${device}" not found on gateway "${gateway}"` : `gateway "${gateway}" not found`)
}
