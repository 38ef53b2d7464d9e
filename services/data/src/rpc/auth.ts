import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { PermissionDeniedError, UnauthenticatedError } from '../domain/errors';

export interface AuthTokens {
  readonly clientTokens: readonly string[];
  readonly workerTokens: readonly string[];
}

export type Caller = 'anonymous' | 'client' | 'worker';

/** Paths only workers may call. */
const WORKER_ONLY_PREFIX = '/tandem.v1.WorkerService/';

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function holds(tokens: readonly Buffer[], presented: Buffer): boolean {
  // Compare against every token so that timing tells nothing about which one nearly matched.
  return tokens.reduce((found, token) => timingSafeEqual(token, presented) || found, false);
}

/**
 * Checks `authorization: Bearer <token>` against the configured tokens. With no tokens configured auth
 * is off and every caller is anonymous. Health and reflection never pass through here.
 */
export function createAuthorizer({ clientTokens, workerTokens }: AuthTokens) {
  const clients = clientTokens.map(digest);
  const workers = workerTokens.map(digest);
  const enabled = clients.length + workers.length > 0;

  return function authorize(path: string, metadata: Metadata): Caller {
    if (!enabled) return 'anonymous';
    const header = metadata.get('authorization')[0];
    const match = typeof header === 'string' ? /^Bearer (\S+)$/i.exec(header) : null;
    if (!match?.[1]) throw new UnauthenticatedError('missing "authorization: Bearer <token>" metadata');
    const presented = digest(match[1]);
    if (holds(workers, presented)) return 'worker';
    if (!holds(clients, presented)) throw new UnauthenticatedError('the bearer token is not valid');
    if (path.startsWith(WORKER_ONLY_PREFIX)) throw new PermissionDeniedError(`${path} is for workers only`);
    return 'client';
  };
}

export type Authorize = ReturnType<typeof createAuthorizer>;
