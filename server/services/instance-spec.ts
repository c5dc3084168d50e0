/**
 * @file What an instance is given to run: its credentials (generated
 * passwords, sealed at rest) when it is created, and the runtime's view of
 * it (InstanceSpec: its lab version's systems with clear credentials) each
 * time the runtime provisions or resets it. Shared by the lifecycle and
 * the warm pools, which create instances too.
 */
import type { LabDefinition } from '../domain/lab/schema.js';
import type { InstanceSpec } from '../runtime/runtime.js';
import { generatePassword, type SecretBox } from '../secrets.js';
import type { InstanceRecord, StoredCredential } from '../store/instances.js';

/** Credentials of a new instance: generated passwords (or the lab's fixed ones), sealed. */
export function newCredentials(lab: LabDefinition, secrets: SecretBox): StoredCredential[] {
  return lab.systems.flatMap((system) =>
    system.user
      ? [
          {
            system: system.name,
            user: system.user.name,
            passwordEnc: secrets.encrypt(
              system.user.password === 'generate' ? generatePassword() : system.user.password,
            ),
          },
        ]
      : [],
  );
}

/** The runtime's view of an instance: its lab version's systems with clear credentials. */
export function buildSpec(
  instance: InstanceRecord,
  lab: LabDefinition,
  decrypt: (sealed: string) => string,
): InstanceSpec {
  return {
    id: instance.id,
    owner: instance.ownerId,
    lab: { name: instance.labName, version: instance.labVersion, definition: lab },
    systems: lab.systems.map((definition) => {
      const cred = instance.credentials.find((c) => c.system === definition.name);
      return cred
        ? { definition, credentials: { user: cred.user, password: decrypt(cred.passwordEnc) } }
        : { definition };
    }),
  };
}
