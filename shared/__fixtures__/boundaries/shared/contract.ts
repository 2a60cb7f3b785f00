// Allowed: shared/ may use pure libraries and other shared/ modules.
import Type from 'typebox'
export const Id = Type.String()
