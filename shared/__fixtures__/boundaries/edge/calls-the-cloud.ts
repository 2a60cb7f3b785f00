// Violation: edge/ must not import cloud/.
import { store } from '../cloud/store.ts'
export const s = store
