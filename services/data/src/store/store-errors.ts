/** A write collided with a unique index over `columns`. */
export class UniqueViolationError extends Error {
  override readonly name = 'UniqueViolationError';
  constructor(readonly columns: readonly string[]) {
    super(`unique index on ${columns.join(', ')} violated`);
  }
}
