/**
 * A deliberately small input validator for the control API. The package has no runtime dependencies beyond Node
 * (it is started by `npm start` and by other packages' tests), so zod is not used here; every control method still
 * validates its whole input and answers EmulatorError('INVALID_ARGUMENT') with the failing path.
 */
import { EmulatorError } from './errors.js';

export type Validator<T> = (value: unknown, path: string) => T;

function fail(path: string, expected: string): never {
  throw new EmulatorError('INVALID_ARGUMENT', `${path || 'input'}: expected ${expected}`);
}

export const v = {
  string(options: { min?: number; max?: number; pattern?: RegExp } = {}): Validator<string> {
    return (value, path) => {
      if (typeof value !== 'string') fail(path, 'a string');
      if (value.length < (options.min ?? 0)) fail(path, `a string of at least ${options.min} characters`);
      if (value.length > (options.max ?? 4096)) fail(path, `a string of at most ${options.max ?? 4096} characters`);
      if (options.pattern && !options.pattern.test(value)) fail(path, `a string matching ${options.pattern}`);
      return value;
    };
  },
  int(options: { min?: number; max?: number } = {}): Validator<number> {
    return (value, path) => {
      if (typeof value !== 'number' || !Number.isInteger(value)) fail(path, 'an integer');
      const min = options.min ?? Number.MIN_SAFE_INTEGER;
      const max = options.max ?? Number.MAX_SAFE_INTEGER;
      if (value < min || value > max) fail(path, `an integer in [${min}, ${max}]`);
      return value;
    };
  },
  number(options: { min?: number; max?: number } = {}): Validator<number> {
    return (value, path) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, 'a number');
      if (value < (options.min ?? -Infinity) || value > (options.max ?? Infinity)) {
        fail(path, `a number in [${options.min ?? '-inf'}, ${options.max ?? 'inf'}]`);
      }
      return value;
    };
  },
  boolean(): Validator<boolean> {
    return (value, path) => (typeof value === 'boolean' ? value : fail(path, 'a boolean'));
  },
  literal<const T extends readonly string[]>(...allowed: T): Validator<T[number]> {
    return (value, path) =>
      typeof value === 'string' && (allowed as readonly string[]).includes(value)
        ? (value as T[number])
        : fail(path, `one of ${allowed.join(', ')}`);
  },
  optional<T>(inner: Validator<T>): Validator<T | undefined> {
    return (value, path) => (value === undefined || value === null ? undefined : inner(value, path));
  },
  array<T>(inner: Validator<T>, options: { max?: number } = {}): Validator<T[]> {
    return (value, path) => {
      if (!Array.isArray(value)) fail(path, 'an array');
      if (value.length > (options.max ?? 1000)) fail(path, `an array of at most ${options.max ?? 1000} items`);
      return value.map((item, index) => inner(item, `${path}[${index}]`));
    };
  },
  oneOrMany<T>(inner: Validator<T>): Validator<T[]> {
    return (value, path) => (Array.isArray(value) ? v.array(inner)(value, path) : [inner(value, path)]);
  },
  record<T>(inner: Validator<T>): Validator<Record<string, T>> {
    return (value, path) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'an object');
      const out: Record<string, T> = {};
      for (const [key, item] of Object.entries(value)) out[key] = inner(item, `${path}.${key}`);
      return out;
    };
  },
  object<S extends Record<string, Validator<unknown>>>(shape: S): Validator<ObjectOutput<S>> {
    return (value, path) => {
      if (value === undefined) value = {};
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'an object');
      const input = value as Record<string, unknown>;
      for (const key of Object.keys(input)) {
        if (!(key in shape)) fail(path ? `${path}.${key}` : key, 'no such field (unknown field)');
      }
      const out: Record<string, unknown> = {};
      for (const [key, validator] of Object.entries(shape)) {
        const parsed = validator(input[key], path ? `${path}.${key}` : key);
        if (parsed !== undefined) out[key] = parsed;
      }
      return out as ObjectOutput<S>;
    };
  },
};

type Simplify<T> = { [K in keyof T]: T[K] } & {};
/** Fields whose validator accepts undefined become optional properties. */
export type ObjectOutput<S extends Record<string, Validator<unknown>>> = Simplify<
  { [K in keyof S as undefined extends ReturnType<S[K]> ? never : K]: ReturnType<S[K]> } & {
    [K in keyof S as undefined extends ReturnType<S[K]> ? K : never]?: ReturnType<S[K]>;
  }
>;

export type Infer<V> = V extends Validator<infer T> ? T : never;
