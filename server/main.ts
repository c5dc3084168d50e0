/**
 * @file `node dist/server/main.js`: reads the configuration from the
 * environment, starts the server, stops cleanly on SIGINT/SIGTERM.
 */
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { startServer } from './server.js';

async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`lab-orchestrator: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.LOG_LEVEL);
  const server = await startServer(config, { log });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`lab-orchestrator: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
