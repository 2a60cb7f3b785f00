// Violation: shared/ must not import an I/O library (only pure ones are allowed).
import { Command } from 'commander'
export const cmd = new Command()
