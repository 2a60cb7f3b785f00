// Allowed: a side imports its own modules and shared/.
import { Id } from '../shared/contract.ts'
export const store = { Id }
