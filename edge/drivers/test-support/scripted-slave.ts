/**
 * A scripted RTU slave on one end of a pty pair, for what the simulated devices do
 * not do on request: noise before an answer, an answer arriving after the master
 * gave up, a wrong byte count with a valid CRC. Requests are framed with the
 * shared slave-side reader; the script answers with raw bytes, whenever it likes
 * (a reply after `stop()` is dropped).
 */
import { SerialPort } from 'serialport'
import { RtuFrameReader, type RtuFrame } from '../../../shared/modbus/rtu-frame.ts'

export interface ScriptedSlave {
  /** Requests received, with `performance.now()` of their arrival. */
  readonly requests: { frame: RtuFrame; at: number }[]
  /** `performance.now()` of each write the script made. */
  readonly writes: number[]
  stop(): Promise<void>
}

export type SlaveScript = (frame: RtuFrame, reply: (bytes: Uint8Array) => void, index: number) => void

/** Opens `path` and answers every request frame through `script`. */
export async function scriptedSlave(path: string, baudRate: number, script: SlaveScript): Promise<ScriptedSlave> {
  const port = new SerialPort({ path, baudRate, parity: 'none', autoOpen: false })
  const reader = new RtuFrameReader()
  const requests: { frame: RtuFrame; at: number }[] = []
  const writes: number[] = []
  port.on('error', () => {})
  port.on('data', (chunk: Buffer) => {
    const at = performance.now()
    for (const frame of reader.push(chunk)) {
      requests.push({ frame, at })
      script(
        frame,
        (bytes) => {
          if (!port.isOpen) return
          writes.push(performance.now())
          port.write(Buffer.from(bytes))
        },
        requests.length - 1,
      )
    }
  })
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())))
  return {
    requests,
    writes,
    stop: async () => {
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()))
    },
  }
}
