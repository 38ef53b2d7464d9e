import { InvalidArgumentError } from '../domain/errors';

export interface MaskRules {
  /** Paths the caller may change. */
  readonly mutable: readonly string[];
  /** Output-only paths: accepted and ignored (AIP-134). */
  readonly ignored: readonly string[];
}

/**
 * The mutable paths to apply: those of `paths`, or without a mask the mutable fields that are set.
 * Unknown paths (and `*`, which would also reset the unset fields) are refused.
 */
export function resolveMask(paths: readonly string[], rules: MaskRules, isSet: (path: string) => boolean): Set<string> {
  if (paths.length === 0) return new Set(rules.mutable.filter(isSet));
  const unknown = paths.filter((path) => !rules.mutable.includes(path) && !rules.ignored.includes(path));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(
      unknown.map((path) => ({
        field: 'update_mask',
        description: `unknown or immutable path "${path}"; allowed: ${rules.mutable.join(', ')}`,
      })),
    );
  }
  return new Set(paths.filter((path) => rules.mutable.includes(path)));
}
