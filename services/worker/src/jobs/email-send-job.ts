import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { z } from 'zod';
import { defineJobHandler } from '../job-handler';

export interface EmailSettings {
  /** smtp://user:password@host:port; empty writes .eml files under `mailDir` instead. */
  readonly smtpUrl: string;
  readonly from: string;
  readonly mailDir: string;
}

const EMAIL_PAYLOAD = z.object({
  to: z.string().email().max(254),
  subject: z.string().min(1).max(998),
  text: z.string().max(100_000),
  html: z.string().max(200_000).optional(),
});

/**
 * email.send: one message through SMTP, or, on the embedded default, an .eml file named after the job
 * so that a retried attempt rewrites the same file instead of sending twice. Over SMTP the job id is
 * the Message-ID, which lets receiving servers drop a duplicate.
 */
export function createEmailSendJob(settings: EmailSettings) {
  const transport =
    settings.smtpUrl === ''
      ? nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
      : nodemailer.createTransport(settings.smtpUrl);

  return defineJobHandler({
    type: 'email.send',
    payload: EMAIL_PAYLOAD,
    run: async ({ payload, jobId, signal }) => {
      const messageId = `<${jobId}@tandem.invalid>`;
      const info = (await transport.sendMail({ from: settings.from, messageId, ...payload })) as {
        message?: Buffer;
        messageId: string;
      };
      signal.throwIfAborted();
      if (settings.smtpUrl !== '' || !info.message) return { messageId: info.messageId, transport: 'smtp' };
      await fs.mkdir(settings.mailDir, { recursive: true });
      const file = path.join(settings.mailDir, `${jobId}.eml`);
      await fs.writeFile(`${file}.tmp`, info.message);
      await fs.rename(`${file}.tmp`, file);
      return { messageId: info.messageId, transport: 'file', file };
    },
  });
}
