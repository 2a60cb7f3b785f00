/**
 * A real node-opcua server standing in for a pumping-station PLC, for tests: a few
 * variables in namespace 1 that the test can change. Its PKI lives under `pkiRoot`
 * (a temp dir), never in the repository.
 */
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { DataType, OPCUACertificateManager, OPCUAServer, StatusCodes, type StatusCode, type UAVariable } from 'node-opcua'

export interface PlcServer {
  endpoint: string
  port: number
  /** Sets a variable's value (and status) as the PLC's own logic would. */
  set(name: PlcVariable, value: number | boolean | string, status?: StatusCode): void
  shutdown(): Promise<void>
}

export const PLC_VARIABLES = {
  'Pump1.Speed': DataType.Double,
  'Pump1.Running': DataType.Boolean,
  'Pump1.Mode': DataType.String,
  'Pump1.Pressure': DataType.Double,
  'Pump1.Temperature': DataType.Double,
} as const
export type PlcVariable = keyof typeof PLC_VARIABLES

/** Initial values; `Pump1.Pressure` starts with a bad status (a failed sensor). */
const INITIAL: Record<PlcVariable, number | boolean | string> = {
  'Pump1.Speed': 1450.5,
  'Pump1.Running': true,
  'Pump1.Mode': 'auto',
  'Pump1.Pressure': 0,
  'Pump1.Temperature': 41.5,
}

/** A port free right now on 127.0.0.1 (OPC UA endpoints carry the port, so port 0 will not do). */
export async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const { port } = srv.address() as AddressInfo
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

export async function startPlcServer(pkiRoot: string, port?: number): Promise<PlcServer> {
  const p = port ?? (await freePort())
  const server = new OPCUAServer({
    port: p,
    hostname: '127.0.0.1',
    serverCertificateManager: new OPCUACertificateManager({ rootFolder: join(pkiRoot, 'server'), automaticallyAcceptUnknownCertificate: true }),
    userCertificateManager: new OPCUACertificateManager({ rootFolder: join(pkiRoot, 'user'), automaticallyAcceptUnknownCertificate: true }),
    buildInfo: { productName: 'muni-test-plc', buildNumber: '1', buildDate: new Date(0) },
    allowAnonymous: true,
  })
  await server.initialize()
  const addressSpace = server.engine.addressSpace
  if (addressSpace === null) throw new Error('OPC UA server has no address space')
  const ns = addressSpace.getOwnNamespace()
  const station = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'PumpStation' })
  const vars = new Map<PlcVariable, UAVariable>()
  for (const [name, dataType] of Object.entries(PLC_VARIABLES) as [PlcVariable, DataType][]) {
    const v = ns.addVariable({
      componentOf: station,
      browseName: name,
      nodeId: `s=${name}`,
      dataType: DataType[dataType],
      minimumSamplingInterval: 50,
    })
    v.setValueFromSource({ dataType, value: INITIAL[name] }, StatusCodes.Good)
    vars.set(name, v)
  }
  vars.get('Pump1.Pressure')?.setValueFromSource({ dataType: DataType.Double, value: 0 }, StatusCodes.BadSensorFailure)
  await server.start()
  return {
    endpoint: `opc.tcp://127.0.0.1:${p}`,
    port: p,
    set(name, value, status = StatusCodes.Good) {
      vars.get(name)?.setValueFromSource({ dataType: PLC_VARIABLES[name], value }, status, new Date())
    },
    async shutdown() {
      await server.shutdown(0)
    },
  }
}
