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

/** Turns zod issues into path-named messages: `train.epochs: expected a positive integer, got -3`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix: string, root: unknown): ConfigIssue[] {
  return issues.map((issue) => {
    const segments = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)));
    const path = [prefix, ...segments].filter(Boolean).join('.').replace(/\.\[/g, '[');
    if (issue.code === 'unrecognized_keys') return { path: path || '(root)', message: expectation(issue) };
    if (issue.code === 'invalid_type' && (issue.expected as string) === 'int') {
      return { path, message: `expected an integer, got ${describe(valueAt(root, issue.path))}` };
    }
    if (issue.code === 'custom') return { path, message: issue.message };
    const value = valueAt(root, issue.path);
    const expected = expectation(issue);
    const isIntCheck = issue.code === 'too_small' && issue.origin === 'number' && /integer/.test(expected);
    return { path, message: `${isIntCheck ? expected : expected}, got ${describe(value)}` };
  });
}
