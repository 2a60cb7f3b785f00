// Allowed.
export const device = 1
