/** `galen serve`: start the HTTP server on the embedded store, optionally with the demo models. */
import { Command, InvalidArgumentError } from 'commander';
import { adminKeyPath, bootstrapAdminKey, createGalen, describeStores } from '../app/index.js';
import { loadConfig } from '../config/index.js';
import { installDemoModels } from '../demo/index.js';
import { startGrpcServer } from '../grpc/index.js';
import type { GrpcServer } from '../grpc/index.js';
import { buildHttpServer } from '../http/index.js';
import { createLogger } from '../observability/index.js';
import type { CliOptions } from './local-context.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return n;
}

export function serveCommand(global: () => CliOptions): Command {
  return new Command('serve')
    .description('start the server (OIP v2 REST and gRPC, native API, metrics)')
    .option('--demo', 'register and serve the demo models on first start')
    .option('--host <address>', 'listen address (GALEN_HOST)')
    .option('--port <port>', 'listen port (GALEN_PORT)', port)
    .option('--no-worker', 'only queue jobs; `galen worker` processes run them (jobs.runInServer=false)')
    .action(async (o: { demo?: boolean; host?: string; port?: number; worker: boolean }) => {
      const loaded = loadConfig({
        file: global().config,
        overrides: {
          ...(o.host !== undefined && { host: o.host }),
          ...(o.port !== undefined && { port: o.port }),
        },
      });
      // Without the flag, jobs.runInServer (GALEN_JOBS_RUN_IN_SERVER) decides.
      const config = o.worker ? loaded : { ...loaded, jobs: { ...loaded.jobs, runInServer: false } };
      const logger = createLogger(config.logLevel);
      const galen = await createGalen(config, logger);
      // Now, before serving, and every artifacts.sweepSeconds after.
      await galen.sweeper.start();

      const generated = await bootstrapAdminKey(galen);
      if (generated) {
        process.stderr.write(
          `\nGenerated the first admin API key (also saved to ${adminKeyPath(config.dataDir)}, mode 0600).\n` +
            `It is shown only this once:\n\n  ${generated}\n\n`,
        );
      }
      if (o.demo) {
        for (const demo of await installDemoModels(galen)) {
          if (demo.installed)
            logger.info(
              { model: demo.model, version: demo.version, metrics: demo.metrics },
              'demo model installed',
            );
        }
      }

      const { app, state, readiness } = await buildHttpServer(galen);
      if (config.runtime.preloadAliased) await galen.models.preloadAliased();
      const address = await app.listen({ host: config.host, port: config.port });
      // The demo's CDS client signs for this address; configured clients need cds.publicUrl.
      galen.cdsClients.listeningAt(address);
      let grpc: GrpcServer | undefined;
      if (config.grpc.enabled) {
        try {
          grpc = await startGrpcServer(galen, {
            host: config.host,
            port: config.grpc.port,
            readiness: () => readiness().ready,
          });
        } catch (err) {
          await app.close();
          await galen.close();
          throw err;
        }
      }
      // An API replica only queues: workers claim, run and recover jobs (and follow its cancels
      // through the store). Recovering here too would add racers to every orphan for no gain.
      if (config.jobs.runInServer) await galen.jobs.start();
      await galen.monitoring.start();
      state.ready = true;
      logger.info(
        {
          address,
          dataDir: config.dataDir,
          ...describeStores(config),
          jobs: config.jobs.runInServer ? 'run here' : 'queued for galen worker',
        },
        `Galen is serving on ${address}`,
      );
      if (grpc) logger.info({ address: grpc.address }, `OIP v2 over gRPC on ${grpc.address}`);

      // SIGTERM: readiness answers 503 at once; requests are still taken for http.shutdownDelaySeconds
      // (so a load balancer sees it and stops sending), then the listener closes and in-flight
      // requests finish, for at most http.shutdownTimeoutSeconds; then the process exits 0.
      let stopping = false;
      const stop = async (signal: string): Promise<void> => {
        if (stopping) return;
        stopping = true;
        state.ready = false;
        state.draining = true;
        const { shutdownDelaySeconds, shutdownTimeoutSeconds } = config.http;
        logger.info({ signal, delaySeconds: shutdownDelaySeconds }, 'shutting down: readiness answers 503');
        if (shutdownDelaySeconds > 0) await new Promise((r) => setTimeout(r, shutdownDelaySeconds * 1000));
        logger.info('shutting down: no new connections; finishing in-flight requests');
        const force = setTimeout(() => {
          logger.warn(
            { timeoutSeconds: shutdownTimeoutSeconds },
            'shutting down: closing connections still open',
          );
          app.server.closeAllConnections();
        }, shutdownTimeoutSeconds * 1000);
        await Promise.all([grpc?.close(), app.close()]);
        clearTimeout(force);
        await galen.close();
        process.exit(0);
      };
      // Kept for the whole drain: a second signal (a supervisor repeating itself, Ctrl-C twice)
      // must not fall back to the default action and kill requests still being finished.
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));
    });
}
