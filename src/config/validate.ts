/**
 * A small schema language: each schema parses an unknown value into a typed one or throws a
 * ConfigError naming the field (as a dotted path) and the problem. Defaults fill absent fields, so a
 * partial file is completed the same way every time it is loaded.
 */
export class ConfigError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field || '(root)'}: ${problem}`);
    this.name = 'ConfigError';
  }
}

export type Schema<T> = (value: unknown, path: string) => T;
export type Infer<S> = S extends Schema<infer T> ? T : never;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${typeof value === 'object' ? '' : String(value)}`.trim();
}

export interface StringRules {
  pattern?: RegExp;
  /** For rules a pattern says badly (an IPv4 address: `net.isIPv4`). */
  valid?: (value: string) => boolean;
  min?: number;
  max?: number;
  hint?: string;
}

export function str(opts: StringRules = {}): Schema<string> {
  return (value, path) => {
    if (typeof value !== 'string') throw new ConfigError(path, `expected a string, got ${describe(value)}`);
    if (opts.min !== undefined && value.length < opts.min)
      throw new ConfigError(path, `must be at least ${opts.min} characters`);
    if (opts.max !== undefined && value.length > opts.max)
      throw new ConfigError(path, `must be at most ${opts.max} characters`);
    if ((opts.pattern && !opts.pattern.test(value)) || (opts.valid && !opts.valid(value)))
      throw new ConfigError(path, `${describe(value)} is not valid${opts.hint ? ` (${opts.hint})` : ''}`);
    return value;
  };
}

export function int(opts: { min?: number; max?: number } = {}): Schema<number> {
  return (value, path) => {
    if (typeof value !== 'number' || !Number.isInteger(value))
      throw new ConfigError(path, `expected an integer, got ${describe(value)}`);
    if (opts.min !== undefined && value < opts.min) throw new ConfigError(path, `must be >= ${opts.min}, got ${value}`);
    if (opts.max !== undefined && value > opts.max) throw new ConfigError(path, `must be <= ${opts.max}, got ${value}`);
    return value;
  };
}

export function bool(): Schema<boolean> {
  return (value, path) => {
    if (typeof value !== 'boolean') throw new ConfigError(path, `expected true or false, got ${describe(value)}`);
    return value;
  };
}

export function oneOf<const T extends string>(choices: readonly T[]): Schema<T> {
  return (value, path) => {
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value))
      throw new ConfigError(path, `expected one of ${choices.join(', ')}, got ${describe(value)}`);
    return value as T;
  };
}

export function arrayOf<T>(item: Schema<T>, opts: { max?: number } = {}): Schema<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) throw new ConfigError(path, `expected an array, got ${describe(value)}`);
    if (opts.max !== undefined && value.length > opts.max)
      throw new ConfigError(path, `at most ${opts.max} entries allowed`);
    return value.map((v, i) => item(v, `${path}[${i}]`));
  };
}

/** A field that may be absent: absent (undefined) takes the default. */
export function withDefault<T>(schema: Schema<T>, fallback: () => T): Schema<T> {
  return (value, path) => (value === undefined ? fallback() : schema(value, path));
}

export function optional<T>(schema: Schema<T>): Schema<T | undefined> {
  return (value, path) => (value === undefined ? undefined : schema(value, path));
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: undefined extends Infer<S[K]> ? K : never }[keyof S];
type Simplify<T> = { [K in keyof T]: T[K] } & {};
/** Fields whose schema may give undefined become optional properties. */
type ObjectOf<S extends Shape> = Simplify<
  { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & {
    [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined>;
  }
>;

/** An object with exactly these fields: an unknown field is an error (a typo must not be silently ignored). */
export function object<S extends Shape>(shape: S): Schema<ObjectOf<S>> {
  return (value, path) => {
    const input = value === undefined ? {} : value;
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      throw new ConfigError(path, `expected an object, got ${describe(input)}`);
    const record = input as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!(key in shape)) throw new ConfigError(join(path, key), 'unknown field');
    }
    const out: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(shape)) {
      const parsed = schema(record[key], join(path, key));
      if (parsed !== undefined) out[key] = parsed;
    }
    return out as ObjectOf<S>;
  };
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}
