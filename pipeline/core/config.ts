/**
 * Configuration from JSON files and the environment, checked against zod
 * schemas: a wrong type, a value out of range or an unknown key is an error
 * that names the key, before any work starts.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';

/** The value at `path` in `input`, when it is a plain value worth quoting in a message. */
function givenValue(input: unknown, path: PropertyKey[]): string | null {
  let v: unknown = input;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? JSON.stringify(v) : null;
}

/** One line per problem, naming the key and what was given: `'epochs': expected number, received string ("6")`. */
function describeIssues(error: z.ZodError, input?: unknown): string {
  return error.issues
    .map((issue) => {
      const at = issue.path.length ? `'${issue.path.join('.')}'` : 'top level';
      if (issue.code === 'unrecognized_keys')
        return `${at === 'top level' ? '' : `in ${at}: `}unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
      const given = givenValue(input, issue.path);
      return `${at}: ${issue.message.replace(/^Invalid input: /, '')}${given === null ? '' : ` (given ${given})`}`;
    })
    .join('; ');
}

/** Parses `value` with `schema`, or throws an Error that says what (`what`) and which keys are wrong. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`${what}: ${describeIssues(r.error, value)}`);
  return r.data;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `override` over `base`, object by object (arrays and values replace). */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = k in base ? deepMerge(base[k], v) : v;
  return out;
}

/** A config: the defaults, with a partial JSON file's keys (when `file` is given) merged over them, checked by `schema`. */
export function loadConfigFile<S extends z.ZodType>(schema: S, defaults: z.infer<S>, file: string | undefined, what: string): z.infer<S> {
  if (!file) return defaults;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${what} ${file}: ${(e as Error).message}`);
  }
  if (!isPlainObject(json)) throw new Error(`${what} ${file}: expected a JSON object of settings`);
  return parseOrThrow(schema, deepMerge(defaults, json), `${what} ${file}`);
}
