/** Per-corruption error rates, one entry per severity (fractions in [0, 1]). */
export type CorruptionErrors = Record<string, number[]>;

/**
 * Mean corruption error of Hendrycks & Dietterich (2019):
 * CE_c = Σ_s E_{s,c} / Σ_s E^{baseline}_{s,c}, mCE = mean_c CE_c, both reported as percentages.
 * Only corruptions present in `errors` are used.
 * @throws if the baseline lacks a corruption, has a different number of severities, or its
 *   errors sum to 0 for a corruption.
 */
export function computeMce(
  errors: CorruptionErrors,
  baselineErrors: CorruptionErrors,
): { mCE: number; ce: Record<string, number> } {
  const ce: Record<string, number> = {};
  const names = Object.keys(errors);
  if (names.length === 0) throw new Error('computeMce: errors has no corruptions');
  for (const name of names) {
    const e = errors[name] as number[];
    const b = baselineErrors[name];
    if (!b) throw new Error(`computeMce: baselineErrors has no entry '${name}' (has ${Object.keys(baselineErrors).join(', ')})`);
    if (b.length !== e.length) {
      throw new Error(`computeMce: errors['${name}'] has ${e.length} severities, baselineErrors['${name}'] has ${b.length}`);
    }
    const sb = b.reduce((x, y) => x + y, 0);
    if (!(sb > 0)) throw new Error(`computeMce: baselineErrors['${name}'] sums to ${sb}, expected > 0`);
    ce[name] = (100 * e.reduce((x, y) => x + y, 0)) / sb;
  }
  const mCE = Object.values(ce).reduce((x, y) => x + y, 0) / names.length;
  return { mCE, ce };
}

/**
 * Pulls per-severity corruption errors out of a run's summary.json object (`eval.corruption`),
 * a corruption evaluator result (`{ corruptions: { name: { perSeverity } } }`) or a plain
 * `{ name: number[] }` record.
 * @throws if none of these shapes is found.
 */
export function extractCorruptionErrors(value: unknown): CorruptionErrors {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(value)) throw new Error('extractCorruptionErrors: expected an object');
  const evalPart = isObj(value.eval) ? value.eval : undefined;
  const candidate = isObj(evalPart?.corruption) ? evalPart.corruption : isObj(value.corruption) ? value.corruption : value;
  const table = isObj(candidate.corruptions) ? candidate.corruptions : candidate;
  const out: CorruptionErrors = {};
  for (const [name, entry] of Object.entries(table)) {
    if (Array.isArray(entry) && entry.every((v) => typeof v === 'number')) out[name] = entry as number[];
    else if (isObj(entry) && Array.isArray(entry.perSeverity)) out[name] = entry.perSeverity as number[];
  }
  if (Object.keys(out).length === 0) {
    throw new Error('extractCorruptionErrors: found no corruption errors (expected eval.corruption.corruptions.NAME.perSeverity or { NAME: number[] })');
  }
  return out;
}
