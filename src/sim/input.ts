import { SimInputError } from './errors.ts';

/** Validation helpers for control-API bodies: each throws a SimInputError naming the field. */
export type Json = Record<string, unknown>;

export function asObject(body: unknown): Json {
  if (body === null || body === undefined) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new SimInputError('body must be a JSON object');
  return body as Json;
}

export function optNumber(obj: Json, key: string, opts: { min?: number; integer?: boolean } = {}): number | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new SimInputError(`${key} must be a number`);
  if (opts.integer && !Number.isInteger(v)) throw new SimInputError(`${key} must be an integer`);
  if (opts.min !== undefined && v < opts.min) throw new SimInputError(`${key} must be >= ${opts.min}`);
  return v;
}

/** A number, or null when the field is explicitly null; undefined when absent. */
export function optNullableNumber(obj: Json, key: string, opts: { min?: number; integer?: boolean } = {}): number | null | undefined {
  if (obj[key] === null) return null;
  return optNumber(obj, key, opts);
}

export function optBool(obj: Json, key: string): boolean | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new SimInputError(`${key} must be true or false`);
  return v;
}

export function optEnum<T extends string>(obj: Json, key: string, values: readonly T[]): T | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !values.includes(v as T)) {
    throw new SimInputError(`${key} must be one of ${values.join(', ')}`);
  }
  return v as T;
}

export function rejectUnknownKeys(obj: Json, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw new SimInputError(`unknown field "${key}" (expected ${allowed.join(', ')})`);
  }
}
