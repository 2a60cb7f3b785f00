"""A pymodbus 3.0 Modbus TCP server for the driver tests: a third-party peer.

Usage: /usr/bin/python3 pymodbus-server.py '<json>'
  {"units": {"1": {"co": [0/1...], "di": [...], "hr": [words...], "ir": [...]}, ...},
   "failing": [unit ids whose datastore raises on every access]}
Binds 127.0.0.1 on a free port, prints {"port": N} on one line once listening,
and exits when its stdin closes, so it never outlives the test that started it.

pymodbus 3.0 (checked by introspection): StartAsyncTcpServer(context, address,
defer_start=True) returns a ModbusTcpServer whose serve_forever() binds and sets
the `serving` future; ModbusSlaveContext(zero_mode=True, co=, di=, hr=, ir=) with
ModbusSequentialDataBlock(0, values) makes protocol address N the Nth value.
Requests for a unit id the context lacks are dropped by the socket framer (the
client times out); a datastore that raises gives exception 04.
"""
import asyncio
import json
import logging
import os
import sys
import threading

logging.disable(logging.CRITICAL)

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext  # noqa: E402
from pymodbus.server import StartAsyncTcpServer  # noqa: E402


class FailingBlock(ModbusSequentialDataBlock):
    """A datastore whose every access fails: the server answers 04, server device failure."""

    def getValues(self, address, count=1):
        raise RuntimeError("sensor board not answering")

    def setValues(self, address, values):
        raise RuntimeError("sensor board not answering")


def slave(tables, failing):
    block = FailingBlock if failing else ModbusSequentialDataBlock
    return ModbusSlaveContext(
        zero_mode=True,
        co=block(0, tables.get("co", [0] * 16)),
        di=block(0, tables.get("di", [0] * 16)),
        hr=block(0, tables.get("hr", [0] * 16)),
        ir=block(0, tables.get("ir", [0] * 16)),
    )


def exit_on_stdin_eof():
    sys.stdin.read()
    os._exit(0)


async def main(config):
    failing = set(config.get("failing", []))
    units = {int(u): slave(t, int(u) in failing) for u, t in config["units"].items()}
    for u in failing:
        units.setdefault(u, slave({}, True))
    context = ModbusServerContext(slaves=units, single=False)
    server = await StartAsyncTcpServer(context=context, address=("127.0.0.1", 0), defer_start=True)
    task = asyncio.create_task(server.serve_forever())
    await server.serving
    port = server.server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)
    await task


if __name__ == "__main__":
    threading.Thread(target=exit_on_stdin_eof, daemon=True).start()
    asyncio.run(main(json.loads(sys.argv[1])))
