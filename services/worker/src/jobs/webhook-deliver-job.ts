import { z } from 'zod';
import { defineJobHandler, NonRetryableError } from '../job-handler';

const WEBHOOK_PAYLOAD = z.object({
  url: z
    .string()
    .url()
    .refine((url) => /^https?:\/\//.test(url), 'must be an http or https URL'),
  body: z.record(z.unknown()).default({}),
  headers: z.record(z.string()).default({}),
});

/**
 * webhook.deliver: POSTs the JSON body. 2xx succeeds; 5xx, 408, 429, timeouts and network errors are
 * retried; any other 4xx fails for good. The job id goes in `Idempotency-Key` so that the receiver
 * can drop a delivery it already took.
 */
export function createWebhookDeliverJob(timeoutMs: number) {
  return defineJobHandler({
    type: 'webhook.deliver',
    payload: WEBHOOK_PAYLOAD,
    run: async ({ payload, jobId, attempt, signal }) => {
      const response = await fetch(payload.url, {
        method: 'POST',
        headers: {
          ...payload.headers,
          'content-type': 'application/json',
          'idempotency-key': jobId,
          'x-tandem-attempt': String(attempt),
        },
        body: JSON.stringify(payload.body),
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        redirect: 'manual',
      });
      await response.body?.cancel();
      if (response.ok) return { status: response.status };
      const failure = `the endpoint answered ${response.status} ${response.statusText}`;
      const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
      throw retryable ? new Error(failure) : new NonRetryableError(failure);
    },
  });
}
