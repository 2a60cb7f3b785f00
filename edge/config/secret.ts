/**
 * A secret read from the environment (the broker password). It prints as
 * `[secret]` everywhere — String(), JSON.stringify, console.log, util.inspect —
 * so a config can be logged or dumped without leaking it; only `reveal()`
 * returns the value, at the one place that hands it to the MQTT client.
 */
const HIDDEN = '[secret]'

export class Secret {
  readonly #value: string

  constructor(value: string) {
    this.#value = value
  }

  /** The secret itself: call it only where it is handed to the library that needs it. */
  reveal(): string {
    return this.#value
  }

  toString(): string {
    return HIDDEN
  }

  toJSON(): string {
    return HIDDEN
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return HIDDEN
  }
}
