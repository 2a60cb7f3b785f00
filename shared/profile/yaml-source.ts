/**
 * Reads profile YAML and reports what is wrong with it as YAML, before any schema
 * is applied (`shared/yaml/document.ts`). Profiles are plain YAML: anchors,
 * aliases, merge keys and non-core tags are rejected, since a register map is
 * reviewed line by line and a point that silently copies another one hides what
 * is read from the device.
 */
import { readYaml as readYamlDocument, type YamlSource } from '../yaml/document.ts'

export type { YamlFinding, YamlSource } from '../yaml/document.ts'

/** Parses `text` as one YAML document and lists its YAML-level problems. */
export function readYaml(text: string): YamlSource {
  return readYamlDocument(text, { plainYaml: 'profiles' })
}
