/**
 * The pg driver's conversion of a query parameter to the text it sends, as `pg/lib/utils` exports it
 * (pg's package exports `./lib/*`; @types/pg does not declare it). A JavaScript array becomes a
 * PostgreSQL array literal, each element quoted and escaped, null as NULL.
 */
declare module 'pg/lib/utils' {
  export function prepareValue(value: unknown): string | Buffer | null;
}
