// Allowed: a side imports shared/.
import { Id } from '../shared/contract.ts'
export interface Poller { id: typeof Id }
