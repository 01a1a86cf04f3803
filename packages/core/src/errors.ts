import type { z } from 'zod';

/** One problem in a config: where (`train.epochs`) and what (`expected a positive integer, got -3`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** A config that failed validation; `issues` holds every problem found, not just the first. */
export class SupconConfigError extends Error {
  override name = 'SupconConfigError';
  constructor(
    readonly issues: ConfigIssue[],
    source?: string,
  ) {
    super(
      (source ? `invalid config ${source}:\n` : issues.length > 1 ? 'invalid config:\n' : '') +
        issues.map((i) => (issues.length > 1 || source ? `  ${i.path}: ${i.message}` : `${i.path}: ${i.message}`)).join('\n'),
    );
  }
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key as string];
  }
  return v;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return 'an object';
}

function expectation(issue: z.core.$ZodIssue): string {
  // A schema may state its expectation itself: `z.int().positive({ error: 'expected a positive integer' })`.
  if (issue.message.startsWith('expected ')) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
        if (min === 0 && !issue.inclusive) return `expected a positive ${issue.origin === 'int' ? 'integer' : 'number'}`;
        return `expected a ${issue.origin === 'int' ? 'integer' : 'number'} ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
      }
      return issue.message;
    }
    case 'too_big':
      if (issue.origin === 'number' || issue.origin === 'int') return `expected a number ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
      return issue.message;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    default:
      return issue.message;
  }
}

/** The schema at `path` inside object schemas (through optional/default/nullable wrappers). */
function schemaAt(schema: unknown, path: readonly PropertyKey[]): unknown {
  let s = schema as { shape?: Record<string, unknown>; _zod?: { def?: { innerType?: unknown } } } | undefined;
  const unwrap = () => {
    while (s?._zod?.def?.innerType) s = s._zod.def.innerType as typeof s;
  };
  for (const key of path) {
    unwrap();
    s = s?.shape?.[key as string] as typeof s;
  }
  unwrap();
  return s;
}

function isIntegerSchema(schema: unknown): boolean {
  const s = schema as { isInt?: boolean; format?: string | null } | undefined;
  return s?.isInt === true || (typeof s?.format === 'string' && /int/.test(s.format));
}

/**
 * Turns zod issues into path-named messages: `train.epochs: expected a positive integer, got -3`.
 * Pass the `schema` that produced the issues to say "integer" rather than "number" where it is one.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix: string, root: unknown, schema?: unknown): ConfigIssue[] {
  return issues.map((issue) => {
    if (issue.code === 'too_small' && issue.origin === 'number' && schema !== undefined && isIntegerSchema(schemaAt(schema, issue.path))) {
      issue = { ...issue, origin: 'int' } as z.core.$ZodIssue;
    }
    const segments = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)));
    const path = [prefix, ...segments].filter(Boolean).join('.').replace(/\.\[/g, '[');
    if (issue.code === 'unrecognized_keys') return { path: path || '(root)', message: expectation(issue) };
    if (issue.code === 'invalid_type' && (issue.expected as string) === 'int') {
      return { path, message: `expected an integer, got ${describe(valueAt(root, issue.path))}` };
    }
    if (issue.code === 'custom') return { path, message: issue.message };
    const value = valueAt(root, issue.path);
    const expected = expectation(issue);
    return { path, message: `${expected}, got ${describe(value)}` };
  });
}
