import type { Jobs } from './jobs';
import type { WelcomeMailer } from './users';

/** The email.send job CreateUser enqueues; its idempotency key makes a retried CreateUser harmless. */
export function createWelcomeMailer(jobs: Jobs): WelcomeMailer {
  return async (tx, user) => {
    await jobs.enqueueWithin(tx, {
      type: 'email.send',
      payload: {
        to: user.email,
        subject: 'Welcome to Tandem',
        text: `Hello ${user.username},\n\nyour Tandem account is ready.\n`,
      },
      runAt: undefined,
      queue: undefined,
      idempotencyKey: `welcome:${user.id}`,
    });
  };
}
