/**
 * @file One container system through its life: image present (or pulled),
 * container created (or adopted), started, its generated user set, and
 * removed. Every step can be repeated: this is how provision resumes.
 */
import type Docker from 'dockerode';
import { type InstanceSpec, RuntimeError, type SystemPhase, type SystemSpec } from '../runtime.js';
import type { Subnet } from './addressing.js';
import { runExec } from './container-exec.js';
import { engineMessage, ignoreNotFound, isConflict, isNotFound, isNotModified } from './engine-errors.js';
import { containerOptions } from './manifests.js';
import { containerName } from './names.js';

/** How long a system must have been running to count as booted (a crashing command exits sooner). */
const BOOT_SETTLE_MS = 200;

export type PhaseListener = (phase: SystemPhase, reason?: string) => void;

export class ContainerSystems {
  constructor(
    private readonly docker: Docker,
    private readonly pullMissingImages: boolean,
    private readonly scope: string,
  ) {}

  /** Makes sure the image is on this machine; pulls it only when the runtime may. */
  async ensureImage(image: string, onPhase: PhaseListener): Promise<void> {
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!this.pullMissingImages) {
      throw new RuntimeError(`image ${image} does not exist on this machine`, 'bad-spec');
    }
    onPhase('pulling');
    try {
      const progress = await this.docker.pull(image);
      await new Promise<void>((resolve, reject) =>
        this.docker.modem.followProgress(progress, (err: Error | null) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      throw new RuntimeError(
        `image ${image} does not exist on this machine and could not be pulled: ${engineMessage(err)}`,
        'bad-spec',
        { cause: err },
      );
    }
  }

  /** Created, started and set up; adopts what exists. A paused container is left paused. */
  async ensure(spec: InstanceSpec, system: SystemSpec, subnet: Subnet, onPhase: PhaseListener): Promise<void> {
    const name = containerName(spec.id, system.definition.name);
    const container = this.docker.getContainer(name);
    let state = await this.state(container);
    if (!state) {
      onPhase('creating');
      try {
        await this.docker.createContainer(containerOptions(spec, system, subnet, this.scope));
      } catch (err) {
        if (!isConflict(err)) {
          throw new RuntimeError(
            `system ${system.definition.name} could not be created: ${engineMessage(err)}`,
            'failed',
            { cause: err },
          );
        }
      }
      state = await this.state(container);
    }
    if (state === 'paused') return;
    onPhase('booting');
    if (state !== 'running') {
      try {
        await container.start();
      } catch (err) {
        if (!isNotModified(err)) {
          throw new RuntimeError(`system ${system.definition.name} did not start: ${engineMessage(err)}`, 'failed', {
            cause: err,
          });
        }
      }
    }
    if (system.credentials) {
      // Set the user while the boot settles; a crash explains a failure better than the user setup does.
      await this.setUser(container, system).catch(async (err: unknown) => {
        await this.checkRunning(container, system.definition.name);
        throw err;
      });
    }
    await this.checkRunning(container, system.definition.name);
  }

  async remove(instanceId: string, systemName: string): Promise<void> {
    await ignoreNotFound(
      this.docker.getContainer(containerName(instanceId, systemName)).remove({ force: true, v: true }),
    );
  }

  private async state(container: Docker.Container): Promise<string | undefined> {
    try {
      const info = await container.inspect();
      return info.State.Status;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * A command that exits at once is a system that failed to boot: say why,
   * from its last output. "At once" is within BOOT_SETTLE_MS of its start.
   */
  private async checkRunning(container: Docker.Container, system: string): Promise<void> {
    let info = await container.inspect();
    const age = Date.now() - Date.parse(info.State.StartedAt);
    if (info.State.Running && age >= 0 && age < BOOT_SETTLE_MS) {
      await new Promise((r) => setTimeout(r, BOOT_SETTLE_MS - age));
      info = await container.inspect();
    }
    if (info.State.Running) return;
    const logs = await container.logs({ stdout: true, stderr: true, tail: 5 }).catch(() => Buffer.alloc(0));
    const tail = Buffer.from(logs)
      .toString('utf8')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the stream frame headers
      .replace(/[\x00-\x08]/g, '')
      .trim()
      .split('\n')
      .slice(-3)
      .join(' / ');
    throw new RuntimeError(
      `system ${system} stopped right after it started (exit code ${info.State.ExitCode})${tail ? `: ${tail}` : ''}`,
      'failed',
    );
  }

  /** Creates the lab's user with its generated password; the password goes through stdin, never argv. */
  private async setUser(container: Docker.Container, system: SystemSpec): Promise<void> {
    const { user, password } = system.credentials ?? { user: '', password: '' };
    const script =
      'id -u "$1" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$1" 2>/dev/null || ' +
      'useradd -m "$1" || adduser -D "$1"; chpasswd';
    const result = await runExec(container, ['/bin/sh', '-c', script, 'sh', user], {
      stdin: `${user}:${password}\n`,
      timeout: 30,
    });
    if (result.exitCode !== 0) {
      throw new RuntimeError(
        `the user ${user} could not be set up on system ${system.definition.name}: ${result.stderr.trim() || `exit code ${result.exitCode}`}`,
        'failed',
      );
    }
  }
}
