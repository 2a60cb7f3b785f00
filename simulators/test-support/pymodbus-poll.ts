/**
 * pymodbus 3.0 (a third-party peer) polling one register span over Modbus TCP for
 * a while, printing each answer with the time it came (ms on its own monotonic
 * clock): what a test needs to see *when* values change, not only what they are.
 * One process, one connection, so the poll period is not lost to interpreter start-up.
 */
import { runTool } from './run-tool.ts'

export interface PollSample {
  /** ms since the poller connected. */
  t: number
  registers?: number[]
  error?: string
}

export interface PollOptions {
  port: number
  slave: number
  /** `read_holding_registers` or `read_input_registers`. */
  method: 'read_holding_registers' | 'read_input_registers'
  address: number
  count: number
  everyMs: number
  forMs: number
}

const SCRIPT = String.raw`
import json, sys, time, logging
logging.disable(logging.CRITICAL)
from pymodbus.client import ModbusTcpClient
c = json.loads(sys.stdin.read())
client = ModbusTcpClient("127.0.0.1", port=c["port"], timeout=1, retries=0)
if not client.connect():
    print(json.dumps({"t": 0, "error": "cannot connect"}))
    sys.exit(0)
t0 = time.monotonic()
while (time.monotonic() - t0) * 1000 < c["forMs"]:
    try:
        rr = getattr(client, c["method"])(c["address"], c["count"], slave=c["slave"])
        t = (time.monotonic() - t0) * 1000
        if rr.isError():
            print(json.dumps({"t": t, "error": str(rr)}))
        else:
            print(json.dumps({"t": t, "registers": list(rr.registers)}))
    except Exception as e:
        print(json.dumps({"t": (time.monotonic() - t0) * 1000, "error": type(e).__name__ + ": " + str(e)}))
    sys.stdout.flush()
    time.sleep(c["everyMs"] / 1000)
client.close()
`

/** Polls and returns every sample; bounded by `forMs` plus a margin. */
export async function pollRegisters(o: PollOptions): Promise<PollSample[]> {
  const r = await runTool('/usr/bin/python3', ['-c', SCRIPT], { input: JSON.stringify(o), timeoutMs: o.forMs + 10_000 })
  const samples: PollSample[] = []
  for (const line of r.stdout.split('\n')) {
    if (line.trim() === '') continue
    try {
      samples.push(JSON.parse(line) as PollSample)
    } catch {
      // a partial last line of a killed poller
    }
  }
  if (samples.length === 0) throw new Error(`pymodbus poller printed nothing (exit ${r.code}): ${r.stderr.trim().slice(-800)}`)
  return samples
}
