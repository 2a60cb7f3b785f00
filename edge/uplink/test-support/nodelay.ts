/**
 * Reads TCP_NODELAY of one of this process's sockets from the kernel, not from Node's
 * bookkeeping: finds the socket's file descriptor (/proc/net/tcp gives the inode of the
 * connection local:remote, /proc/self/fd maps inodes to descriptors), hands a duplicate
 * of it to a Python child as fd 3, and lets Python call getsockopt(IPPROTO_TCP,
 * TCP_NODELAY) on it. The duplicate refers to the same socket, so the answer is the
 * option as the kernel applies it. Linux only.
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import type { Binary } from '../../../shared/test-support/binaries.ts'

/** The Python the probe runs (the one Debian's python3 package installs). */
export const PYTHON: Binary = { package: 'python3', probe: ['/usr/bin/python3', '-c', 'import socket'] }

const PROBE = 'import socket; s = socket.socket(fileno=3); print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)); s.detach()'

/** The descriptor of this process's TCP socket from `localPort` to `remotePort`, or undefined. */
export function socketFd(localPort: number, remotePort: number): number | undefined {
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue
    }
    for (const line of text.trim().split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const cols = line.trim().split(/\s+/)
      const port = (addr: string | undefined): number => parseInt(addr?.split(':').pop() ?? '', 16)
      if (port(cols[1]) === localPort && port(cols[2]) === remotePort && cols[9] !== undefined) inodes.add(cols[9])
    }
  }
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))
      if (m?.[1] !== undefined && inodes.has(m[1])) return Number(fd)
    } catch {
      // closed meanwhile
    }
  }
  return undefined
}

/** TCP_NODELAY of the socket `localPort` → `remotePort` of this process, as the kernel has it. */
export async function kernelNoDelay(localPort: number, remotePort: number): Promise<boolean> {
  const fd = socketFd(localPort, remotePort)
  if (fd === undefined) throw new Error(`no socket 127.0.0.1:${localPort} → :${remotePort} in this process`)
  const child = spawn(PYTHON.probe[0], ['-c', PROBE], { stdio: ['ignore', 'pipe', 'pipe', fd] })
  let out = ''
  let err = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d))
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
  if (code !== 0) throw new Error(`getsockopt probe failed (${code}): ${err}`)
  return out.trim() !== '0'
}
