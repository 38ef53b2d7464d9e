/** The etag of a resource at a version: opaque to clients, changes whenever the resource does. */
export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/** True when the caller sent no etag, or the etag of the current version. */
export function etagMatches(sent: string, version: number): boolean {
  return sent === '' || sent === etagOf(version);
}
