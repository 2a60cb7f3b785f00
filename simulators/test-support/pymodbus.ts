/**
 * A pymodbus 3.0 client run by /usr/bin/python3 as a third-party peer: it reads
 * or writes once and prints the outcome as JSON. No project code is involved on
 * the client side. pymodbus 3.0 names the unit id `slave=` and takes
 * `framer=ModbusRtuFramer` for RTU.
 */
import { runTool } from './run-tool.ts'

/** What one pymodbus call gave: registers/bits, an exception response's code, or an error (timeout, CRC…). */
export type PyResult =
  | { ok: true; registers?: number[]; bits?: boolean[]; echo?: string }
  | { ok: false; exception: number; function_code: number }
  | { ok: false; error: string }

export interface PyCall {
  transport: { tcp: { port: number } } | { rtu: { port: string; baudrate: number; parity: 'N' | 'E' | 'O' } }
  /** pymodbus client method, e.g. read_holding_registers, read_coils, write_register. */
  method: string
  address: number
  /** count for reads, value(s) for writes */
  arg: number | number[] | boolean
  slave: number
  timeoutS?: number
}

const SCRIPT = String.raw`
import json, sys, logging
logging.disable(logging.CRITICAL)
from pymodbus.client import ModbusTcpClient, ModbusSerialClient
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.pdu import ExceptionResponse
c = json.loads(sys.stdin.read())
t = c["transport"]
timeout = c.get("timeoutS", 1)
if "tcp" in t:
    client = ModbusTcpClient("127.0.0.1", port=t["tcp"]["port"], timeout=timeout, retries=0)
else:
    r = t["rtu"]
    client = ModbusSerialClient(port=r["port"], framer=ModbusRtuFramer, baudrate=r["baudrate"], parity=r["parity"], stopbits=1, bytesize=8, timeout=timeout, retries=0)
out = {}
try:
    if not client.connect():
        out = {"ok": False, "error": "cannot connect"}
    else:
        rr = getattr(client, c["method"])(c["address"], c["arg"], slave=c["slave"])
        if isinstance(rr, ExceptionResponse):
            out = {"ok": False, "exception": rr.exception_code, "function_code": rr.original_code}
        elif rr.isError():
            out = {"ok": False, "error": str(rr)}
        else:
            out = {"ok": True}
            if hasattr(rr, "registers"): out["registers"] = list(rr.registers)
            if hasattr(rr, "bits"): out["bits"] = [bool(b) for b in rr.bits]
            out["echo"] = str(rr)
except Exception as e:
    out = {"ok": False, "error": type(e).__name__ + ": " + str(e)}
finally:
    client.close()
print(json.dumps(out))
`

/** Runs one pymodbus call; a run that prints no JSON resolves to an error carrying its stderr. */
export async function pymodbus(call: PyCall, timeoutMs = 10_000): Promise<PyResult> {
  const r = await runTool('/usr/bin/python3', ['-c', SCRIPT], { input: JSON.stringify(call), timeoutMs })
  const line = r.stdout.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(line) as PyResult
  } catch {
    return { ok: false, error: `python exited ${r.code}${r.timedOut ? ' (killed after time limit)' : ''}: ${r.stderr.trim().slice(-800)}` }
  }
}
