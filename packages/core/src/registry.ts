import { type Activation, ActivationValidationError, validateActivation } from './activation.ts';

/**
 * Activations by name. Every activation is validated ({@link validateActivation}) when registered, so a
 * broken plugin is refused before any training starts.
 */
export class ActivationRegistry {
  private readonly byName = new Map<string, Activation>();

  /** `initial`: activations to register (an array, another registry, any iterable). */
  constructor(initial: Iterable<Activation> = []) {
    for (const act of initial) this.register(act);
  }

  /** Validates and adds an activation; a second one of the same name is an error. */
  register(candidate: unknown): Activation {
    const act = validateActivation(candidate);
    if (this.byName.has(act.name)) throw new Error(`activation '${act.name}' is already registered`);
    this.byName.set(act.name, act);
    return act;
  }

  /**
   * Imports an ES module (URL or specifier) whose default export is an activation, and registers it. `source`
   * (default: the specifier) names the plugin in error messages, e.g. the file path it came from.
   */
  async registerModule(specifier: string, source = specifier): Promise<Activation> {
    let mod: { default?: unknown };
    try {
      mod = (await import(/* @vite-ignore */ specifier)) as { default?: unknown };
    } catch (err) {
      throw new Error(`activation plugin ${source} could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (mod.default === undefined) throw new Error(`activation plugin ${source} has no default export`);
    try {
      return this.register(mod.default);
    } catch (err) {
      if (err instanceof ActivationValidationError) err.message += ` (plugin ${source})`;
      throw err;
    }
  }

  get(name: string): Activation {
    const act = this.byName.get(name);
    if (!act) throw new RangeError(`unknown activation '${name}' (registered: ${this.names().join(', ') || 'none'})`);
    return act;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** The registered activations, in registration order (so a registry can seed another: `new ActivationRegistry(r)`). */
  [Symbol.iterator](): IterableIterator<Activation> {
    return this.byName.values();
  }
}
