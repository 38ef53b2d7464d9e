import { InvalidArgumentError, type FieldViolation } from './errors';

/** Collects every invalid field of a request, so that one error reports them all. */
export class Violations {
  private readonly list: FieldViolation[] = [];

  add(field: string, description: string): void {
    this.list.push({ field, description });
  }

  /** Records a violation when `valid` is false; answers `valid`. */
  check(valid: boolean, field: string, description: string): boolean {
    if (!valid) this.add(field, description);
    return valid;
  }

  isEmpty(): boolean {
    return this.list.length === 0;
  }

  /** The INVALID_ARGUMENT error listing every violation, if there is any. */
  error(): InvalidArgumentError | undefined {
    return this.list.length > 0 ? new InvalidArgumentError(this.list) : undefined;
  }

  throwIfAny(): void {
    const error = this.error();
    if (error) throw error;
  }
}

/** Throws INVALID_ARGUMENT for a single field. */
export function invalid(field: string, description: string): never {
  throw new InvalidArgumentError([{ field, description }]);
}
