import type { Violations } from '../domain/violations';

export interface MaskRules {
  /** Paths the caller may change. */
  readonly mutable: readonly string[];
  /** Output-only paths: accepted and ignored (AIP-134). */
  readonly ignored: readonly string[];
}

/**
 * The mutable paths to apply: those of `paths`, or without a mask the mutable fields that are set.
 * Unknown paths (and `*`, which would also reset the unset fields) are recorded as violations, so that
 * they are reported with every other invalid field of the request.
 */
export function resolveMask(
  paths: readonly string[],
  rules: MaskRules,
  isSet: (path: string) => boolean,
  violations: Violations,
): Set<string> {
  if (paths.length === 0) return new Set(rules.mutable.filter(isSet));
  for (const path of paths) {
    violations.check(
      rules.mutable.includes(path) || rules.ignored.includes(path),
      'update_mask',
      `unknown or immutable path "${path}"; allowed: ${rules.mutable.join(', ')}`,
    );
  }
  return new Set(paths.filter((path) => rules.mutable.includes(path)));
}
