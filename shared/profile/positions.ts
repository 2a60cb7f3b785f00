/**
 * Where a field of a profile sits in its YAML text: the generic helpers live in
 * `shared/yaml/positions.ts`; these names stay for the profile code that uses them.
 */
export { fieldName, keyName, offsetOf, pathOfKeyAt, pointerToPath, type Anchor, type PathSegment } from '../yaml/positions.ts'
