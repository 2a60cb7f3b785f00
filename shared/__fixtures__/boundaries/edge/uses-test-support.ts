// Violation: production code must not import test support.
export { gate } from '../shared/test-support/peers.ts'
