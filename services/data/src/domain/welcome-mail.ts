import { FailedPreconditionError, InvalidArgumentError } from './errors';
import type { Jobs } from './jobs';
import type { WelcomeMailer } from './users';

/** The email.send job CreateUser enqueues; its idempotency key makes a retried CreateUser harmless. */
export function createWelcomeMailer(jobs: Jobs): WelcomeMailer {
  return async (tx, user) => {
    try {
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
    } catch (error) {
      // The caller asked for a user, not a job: a missing job type is the deployment's fault, not theirs.
      if (!(error instanceof InvalidArgumentError)) throw error;
      throw new FailedPreconditionError(
        'WELCOME_EMAIL_UNAVAILABLE',
        'users cannot be created: the welcome e-mail job type email.send is not configured',
      );
    }
  };
}
