import { afterEach, describe, expect, it } from 'vitest'
import { ModbusTcpServer } from '../../simulators/modbus/tcp-server.ts'
import type { RtuBusFile, TcpBusFile } from '../config/schema.ts'
import { ModbusRtuTransport } from './modbus-rtu.ts'
import { ModbusTcpTransport } from './modbus-tcp.ts'
import { createTransport, drivers, SCHEMES, type BusConfig, type DriverTransport } from './registry.ts'
import { IMAGE_A, simulatedDevice } from './test-support/device-image.ts'

describe('driver registry', () => {
  let server: ModbusTcpServer | undefined
  let transport: DriverTransport | undefined
  afterEach(async () => {
    await transport?.stop()
    await server?.stop()
    server = transport = undefined
  })

  it('knows the schemes tcp and rtu, like MQTT.js’s protocols map', () => {
    expect(SCHEMES).toEqual(['tcp', 'rtu'])
    expect(Object.keys(drivers)).toEqual(['tcp', 'rtu'])
  })

  it('builds a TCP transport with its concurrency, and an RTU one with its line settings, without opening anything', () => {
    const tcp = createTransport({ type: 'tcp', host: '127.0.0.1', port: 502, concurrency: 4 })
    expect(tcp).toBeInstanceOf(ModbusTcpTransport)
    expect((tcp as ModbusTcpTransport).concurrency).toBe(4)
    expect((tcp as ModbusTcpTransport).connected).toBe(false)
    const rtu = createTransport({ type: 'rtu', path: '/dev/ttyUSB0', baud: 9600, parity: 'none', stopBits: 2 })
    expect(rtu).toBeInstanceOf(ModbusRtuTransport)
    expect((rtu as ModbusRtuTransport).bitsPerChar).toBe(11)
    expect((rtu as ModbusRtuTransport).interFrameMs).toBeCloseTo(4.01, 2)
    expect((createTransport({ type: 'rtu', path: '/dev/ttyUSB0', baud: 115200, parity: 'even' }) as ModbusRtuTransport).interFrameMs).toBe(1.75)
    expect(tcp.stats.requests).toBe(0)
  })

  it('takes the gateway config’s bus entries as they are', () => {
    // Type-level contract with edge/config/schema.ts: a Modbus bus entry is a BusConfig
    // (OPC UA buses are served per device by edge/opcua, not by a Transport).
    const buses: Array<TcpBusFile | RtuBusFile> = [
      { id: 'cabinet', type: 'tcp', host: '10.0.0.7', port: 502, concurrency: 1, timeoutMs: 500 },
      { id: 'line-1', type: 'rtu', path: '/dev/ttyUSB0', baud: 19200, parity: 'even', stopBits: 1, interFrameMs: 3 },
    ]
    const built = buses.map((b) => createTransport(b))
    expect(built.map((t) => t.constructor.name)).toEqual(['ModbusTcpTransport', 'ModbusRtuTransport'])
    expect((built[1] as ModbusRtuTransport).interFrameMs).toBe(3)
  })

  it('refuses an unknown bus type, naming the known ones', () => {
    expect(() => createTransport({ type: 'udp' } as unknown as BusConfig)).toThrow('no driver for bus type "udp"; known: tcp, rtu')
    expect(() => createTransport({ type: 'toString' } as unknown as BusConfig)).toThrow(/no driver for bus type "toString"/)
  })

  it('a transport from the registry reads from a real server', async () => {
    const device = simulatedDevice(IMAGE_A)
    server = new ModbusTcpServer({ units: new Map([[5, device]]) })
    await server.start()
    transport = createTransport({ type: 'tcp', host: '127.0.0.1', port: server.port })
    await transport.start()
    expect(await transport.read(5, { table: 'input', start: 0, count: 2 }, 1000)).toMatchObject({ ok: true, data: [0x1234, 0xabcd] })
    expect(transport.stats).toMatchObject({ requests: 1, ok: 1 })
  })
})
