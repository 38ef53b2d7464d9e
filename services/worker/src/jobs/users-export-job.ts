import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserStatus, type User } from '../../../../proto/gen/tandem/v1/user';
import { defineJobHandler } from '../job-handler';

const EXPORT_PAYLOAD = z.object({
  format: z.enum(['jsonl', 'csv']).default('jsonl'),
  includeDeleted: z.boolean().default(false),
});

const PAGE_SIZE = 100;
const CSV_COLUMNS = ['id', 'username', 'email', 'status', 'order_count', 'create_time', 'delete_time'] as const;

function row(user: User): Record<(typeof CSV_COLUMNS)[number], string> {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    status: UserStatus[user.status],
    order_count: user.orderCount,
    create_time: user.createTime?.toISOString() ?? '',
    delete_time: user.deleteTime?.toISOString() ?? '',
  };
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * users.export: pages through UserService.ListUsers over gRPC (the worker reading data from the data
 * service, not only reporting to it) into a JSON-lines or CSV file named after the job. The file is
 * written aside and renamed at the end, so a retried attempt never leaves half a file behind.
 */
export function createUsersExportJob(exportDir: string) {
  return defineJobHandler({
    type: 'users.export',
    payload: EXPORT_PAYLOAD,
    run: async ({ payload, jobId, signal, progress, data }) => {
      await fs.mkdir(exportDir, { recursive: true });
      const file = path.join(exportDir, `users-${jobId}.${payload.format}`);
      const partial = `${file}.partial`;
      const out = await fs.open(partial, 'w');
      let exported = 0;
      try {
        if (payload.format === 'csv') await out.write(`${CSV_COLUMNS.join(',')}\n`);
        let pageToken = '';
        do {
          signal.throwIfAborted();
          const page = await data.users.listUsers({
            pageSize: PAGE_SIZE,
            pageToken,
            status: UserStatus.USER_STATUS_UNSPECIFIED,
            usernamePrefix: '',
            showDeleted: payload.includeDeleted,
          });
          const lines = page.users.map((user) =>
            payload.format === 'csv'
              ? CSV_COLUMNS.map((column) => csvField(row(user)[column])).join(',')
              : JSON.stringify(row(user)),
          );
          if (lines.length > 0) await out.write(`${lines.join('\n')}\n`);
          exported += page.users.length;
          pageToken = page.nextPageToken;
          // The total is unknown until the last page: progress approaches 99% and reaches 100% at the end.
          await progress(Math.min(99, Math.round(100 * (1 - 1 / (1 + exported / 1000)))), `${exported} users exported`);
        } while (pageToken !== '');
      } finally {
        await out.close();
      }
      await fs.rename(partial, file);
      await progress(100, `${exported} users exported`);
      return { file, format: payload.format, users: exported };
    },
  });
}
