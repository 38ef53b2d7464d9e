import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HealthProbe {
  readonly name: string;
  check(): Promise<void>;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 1000;

async function run(probe: HealthProbe): Promise<[string, string]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`));
    }, PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe.check(), timeout]);
    return [probe.name, 'ok'];
  } catch (error) {
    return [probe.name, error instanceof Error ? error.message : String(error)];
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GET /healthz on 127.0.0.1: 200 when every probe (Redis, the data service) answers, 503 otherwise,
 * with each probe's result as JSON.
 */
export function startHealthServer(port: number, probes: readonly HealthProbe[]): Promise<HealthServer> {
  const server = http.createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/healthz') {
      response.writeHead(404).end();
      return;
    }
    void Promise.all(probes.map(run)).then((results) => {
      const healthy = results.every(([, result]) => result === 'ok');
      response
        .writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: healthy ? 'ok' : 'unhealthy', checks: Object.fromEntries(results) }));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise((done) => {
            server.close(() => {
              done();
            });
            server.closeAllConnections();
          }),
      });
    });
  });
}
