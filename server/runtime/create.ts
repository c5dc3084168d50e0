/**
 * @file Picks the runtime named by RUNTIME. Drivers are imported only when
 * chosen, so a server on one runtime never loads the other's client library.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Runtime } from './runtime.js';

export async function createRuntime(config: Config, log: Logger): Promise<Runtime | undefined> {
  switch (config.RUNTIME) {
    case 'none':
      log.warn('RUNTIME=none: labs can be managed, instances cannot be started');
      return undefined;
    case 'local': {
      const { LocalRuntime } = await import('./local/local-runtime.js');
      return new LocalRuntime({ scope: config.RUNTIME_SCOPE });
    }
    case 'kubernetes':
      throw new Error('RUNTIME=kubernetes: the kubernetes runtime is not built yet; use RUNTIME=local');
  }
}
