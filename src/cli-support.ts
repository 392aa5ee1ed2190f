/** What the commands share: configuration loading with exit 2, and graceful signal handling. */
import { ConfigError, loadConfig, type Config } from './config.ts';
import type { Logger } from './log.ts';
import type { Acerelay } from './runtime.ts';

/** Loads the configuration or exits 2 with a message naming the variable. */
export function configOrExit(argv: string[], env: NodeJS.ProcessEnv, overrides: Partial<Config> = {}): { config: Config; warnings: string[] } {
  try {
    const loaded = loadConfig(argv, env);
    return { config: { ...loaded.config, ...overrides }, warnings: loaded.warnings };
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`acerelay: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** SIGTERM/SIGINT: stop accepting, end every session with its events, exit 0. A second signal exits at once. */
export function handleSignals(acerelay: Acerelay, log: Logger, also: () => Promise<unknown> = async () => {}): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    void acerelay
      .close()
      .then(async (clean) => {
        await also();
        log.info({ clean }, clean ? 'every session ended and announced' : 'shutdown grace ran out');
        log.flush();
        process.exit(0);
      })
      .catch((err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

