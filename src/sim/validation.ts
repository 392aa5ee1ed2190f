/** FastAPI-shaped 422 bodies for the orchestrator's request validation. */
export interface ValidationIssue {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

export function validationBody(issues: ValidationIssue[]): { detail: ValidationIssue[] } {
  return { detail: issues };
}

export type Parsed = { ok: true; value: Record<string, unknown> } | { ok: false; issues: ValidationIssue[] };

/** Parses a required JSON object body like FastAPI does. */
export function parseJsonBody(text: string | null): Parsed {
  if (text === null || text.trim() === '') {
    return { ok: false, issues: [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }] };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, issues: [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {}, ctx: { error: err instanceof Error ? err.message : String(err) } }] };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, issues: [{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', input: value }] };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** Collects type issues for a model's fields. */
export class FieldChecker {
  readonly issues: ValidationIssue[] = [];

  constructor(private readonly root: (string | number)[] = ['body']) {}

  private at(path: string[]): (string | number)[] {
    return [...this.root, ...path];
  }

  object(obj: Record<string, unknown>, path: string[], required: boolean): Record<string, unknown> | null {
    const v = get(obj, path);
    if (v === undefined || v === null) {
      if (required && v === undefined) this.issues.push({ type: 'missing', loc: this.at(path), msg: 'Field required', input: obj });
      else if (required) this.issues.push({ type: 'model_type', loc: this.at(path), msg: 'Input should be a valid dictionary', input: v });
      return null;
    }
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.issues.push({ type: 'dict_type', loc: this.at(path), msg: 'Input should be a valid dictionary', input: v });
      return null;
    }
    return v as Record<string, unknown>;
  }

  string(obj: Record<string, unknown>, path: string[], required: boolean, nullable = false): string | null {
    const v = get(obj, path);
    if (v === undefined || (v === null && nullable)) {
      if (required) this.issues.push({ type: 'missing', loc: this.at(path), msg: 'Field required', input: obj });
      return null;
    }
    if (typeof v !== 'string') {
      this.issues.push({ type: 'string_type', loc: this.at(path), msg: 'Input should be a valid string', input: v });
      return null;
    }
    return v;
  }

  integer(obj: Record<string, unknown>, path: string[], required: boolean, nullable = false): number | null {
    const v = get(obj, path);
    if (v === undefined || (v === null && nullable)) {
      if (required) this.issues.push({ type: 'missing', loc: this.at(path), msg: 'Field required', input: obj });
      return null;
    }
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.issues.push({ type: 'int_type', loc: this.at(path), msg: 'Input should be a valid integer', input: v });
      return null;
    }
    return v;
  }

  stringMap(obj: Record<string, unknown>, path: string[]): Record<string, string> {
    const m = this.object(obj, path, false);
    if (!m) return {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== 'string') this.issues.push({ type: 'string_type', loc: this.at([...path, k]), msg: 'Input should be a valid string', input: v });
      else out[k] = v;
    }
    return out;
  }

  /**
   * An http(s) URL like pydantic's HttpUrl: an empty or relative string is 422, and the value
   * comes back normalised (a bare origin gains its trailing `/`, quirk 9).
   */
  url(obj: Record<string, unknown>, path: string[], required: boolean): string | null {
    const v = this.string(obj, path, required);
    if (v === null) return null;
    let parsed: URL | null = null;
    try {
      parsed = new URL(v);
    } catch {
      parsed = null;
    }
    if (parsed === null || parsed.host === '') {
      const msg = v === '' ? 'Input should be a valid URL, input is empty' : 'Input should be a valid URL, relative URL without a base';
      this.issues.push({ type: 'url_parsing', loc: this.at(path), msg, input: v, ctx: { error: v === '' ? 'input is empty' : 'relative URL without a base' } });
      return null;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      this.issues.push({ type: 'url_scheme', loc: this.at(path), msg: "URL scheme should be 'http' or 'https'", input: v, ctx: { expected_schemes: "'http' or 'https'" } });
      return null;
    }
    return parsed.href;
  }

  oneOf(obj: Record<string, unknown>, path: string[], values: readonly string[]): string | null {
    const v = this.string(obj, path, true);
    if (v !== null && !values.includes(v)) {
      this.issues.push({ type: 'enum', loc: this.at(path), msg: `Input should be ${values.map((x) => `'${x}'`).join(', ')}`, input: v });
      return null;
    }
    return v;
  }
}

function get(obj: Record<string, unknown>, path: string[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}
