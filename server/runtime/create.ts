/**
 * @file Picks the runtime named by RUNTIME. Drivers are imported only when
 * chosen, so a server on one runtime never loads the other's client library.
 */
import path from 'node:path';
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
      const { QemuVmDriver } = await import('./local/vm/qemu-driver.js');
      const vmDriver = new QemuVmDriver({
        stateDir: path.join(config.dataDir, 'vms'),
        savedState: config.LAB_VM_SAVED_STATE === 'on',
        log: log.child({ component: 'vm' }),
      });
      return new LocalRuntime({ scope: config.RUNTIME_SCOPE, vmDriver });
    }
    case 'kubernetes': {
      const { kubernetesRuntimeFromEnvironment } = await import('./kubernetes/from-environment.js');
      return kubernetesRuntimeFromEnvironment(log, { storageClassName: config.KUBERNETES_STORAGE_CLASS });
    }
  }
}
