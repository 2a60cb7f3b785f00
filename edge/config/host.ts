/**
 * The checks that need the gateway itself: the TLS files the broker connection
 * will read, and the folder the buffer's SQLite file will be written in. Paths in
 * the config are relative to the config file's folder; messages show the path
 * as written when it is absolute, else as resolved (relative to the working directory).
 */
import { accessSync, constants, statSync, type Stats } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import type { SourceIssue } from '../../shared/yaml/issue.ts'
import type { PathSegment } from '../../shared/yaml/positions.ts'
import { issueAt, type YamlText } from '../../shared/yaml/source.ts'
import { display } from '../profiles/load.ts'
import { pointer } from './checks.ts'

const TLS_FILES = ['ca', 'cert', 'key'] as const

/** Problems with the files and folders the config names (not the profiles folder: `load.ts` reads that). */
export function hostIssues(src: YamlText, clean: (pointer: string) => boolean, baseDir: string): SourceIssue[] {
  const issues: SourceIssue[] = []
  const pathAt = (path: PathSegment[]): string | undefined => {
    let cur: unknown = src.value
    for (const seg of path) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined
    return typeof cur === 'string' && clean(pointer(path)) ? cur : undefined
  }
  for (const name of TLS_FILES) {
    const written = pathAt(['broker', 'tls', name])
    const reason = written === undefined ? undefined : fileProblem(written, baseDir)
    if (reason !== undefined) issues.push(issueAt(src, ['broker', 'tls', name], 'value', reason))
  }
  const buffer = pathAt(['buffer', 'path'])
  const reason = buffer === undefined ? undefined : bufferProblem(buffer, baseDir)
  if (reason !== undefined) issues.push(issueAt(src, ['buffer', 'path'], 'value', reason))
  return issues
}

/** Why a file the agent must read is unusable, or `undefined`. */
export function fileProblem(written: string, baseDir: string): string | undefined {
  const abs = resolve(baseDir, written)
  const st = stat(abs)
  if (st === undefined) return `no such file: ${shown(written, abs)}`
  if (!st.isFile()) return `${shown(written, abs)} is not a file`
  if (!can(abs, constants.R_OK)) return `${shown(written, abs)} is not readable by this user`
  return undefined
}

/** Why a folder the agent must read is unusable, or `undefined`. */
export function folderProblem(written: string, baseDir: string): string | undefined {
  const abs = resolve(baseDir, written)
  const st = stat(abs)
  if (st === undefined) return `no such folder: ${shown(written, abs)}`
  if (!st.isDirectory()) return `${shown(written, abs)} is not a folder`
  return undefined
}

/** Why the buffer's SQLite file could not be created or written, or `undefined`. */
function bufferProblem(written: string, baseDir: string): string | undefined {
  const abs = resolve(baseDir, written)
  const st = stat(abs)
  if (st?.isDirectory()) return `${shown(written, abs)} is a folder; name the SQLite file to keep in it`
  if (st !== undefined && !can(abs, constants.W_OK)) return `${shown(written, abs)} is not writable by this user`
  const dir = dirname(abs)
  const dirShown = isAbsolute(written) ? dirname(written) : display(dir)
  const dst = stat(dir)
  if (dst === undefined) return `folder ${dirShown} does not exist`
  if (!dst.isDirectory()) return `${dirShown} is not a folder`
  if (!can(dir, constants.W_OK)) return `folder ${dirShown} is not writable by this user`
  return undefined
}

function shown(written: string, abs: string): string {
  return isAbsolute(written) ? written : display(abs)
}

function stat(p: string): Stats | undefined {
  try {
    return statSync(p)
  } catch {
    return undefined
  }
}

function can(p: string, mode: number): boolean {
  try {
    accessSync(p, mode)
    return true
  } catch {
    return false
  }
}
