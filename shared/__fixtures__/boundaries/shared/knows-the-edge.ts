// Violation: shared/ must not import a project folder (even for a type).
import type { Poller } from '../edge/poller.ts'
export type P = Poller
