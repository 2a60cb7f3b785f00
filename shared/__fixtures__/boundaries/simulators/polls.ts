// Violation: simulators/ must not import edge/.
export const load = async (): Promise<unknown> => import('../edge/poller.ts')
