// Violation: cloud/ must not import simulators/.
export { device } from '../simulators/device.ts'
