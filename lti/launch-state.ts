/**
 * @file The OIDC state of a launch, checked without cookies (browsers drop
 * the tool's cookies in the LMS iframe): the login's redirect to the
 * platform is recorded server-side (state → issuer, client, target_link_uri,
 * nonce), and the launch takes that record (single use) before ltijs sees
 * the id_token. With Platform Storage (`lti_storage_target` on the login)
 * the state is also kept in the platform's frame and must come back from
 * there (platform-storage.ts), which binds the launch to the browser that
 * started it.
 */
import type { Logger } from '../server/log.js';
import type { LaunchState } from '../server/store/platforms.js';
import type { Store } from '../server/store/store.js';
import { LaunchRefused } from './claims.js';
import type { Ltijs4Request, Ltijs4Response } from './ltijs.js';
import { errorPage } from './pages.js';
import {
  checkStoredState,
  newStorageProof,
  STORAGE_FIELDS,
  storageGetPage,
  storagePutPage,
  storageTarget,
} from './platform-storage.js';

export interface LaunchStateDeps {
  store: Store;
  log: Logger;
  publicUrl: () => string;
}

/**
 * Login initiation (before ltijs answers it): when ltijs redirects to the
 * platform's authorization endpoint, record the state first; with
 * `lti_storage_target`, answer the page that keeps it in the platform's
 * frame instead of the redirect.
 */
export function interceptLogin(deps: LaunchStateDeps, req: Ltijs4Request, res: Ltijs4Response): void {
  const params = { ...req.query, ...req.body } as Record<string, unknown>;
  const iss = typeof params.iss === 'string' ? params.iss : '';
  const targetLinkUri = typeof params.target_link_uri === 'string' ? params.target_link_uri : '';
  const target = storageTarget(params.lti_storage_target);
  const redirect = res.redirect.bind(res);
  res.redirect = (location: string) => {
    const url = new URL(location);
    const state = url.searchParams.get('state');
    const nonce = url.searchParams.get('nonce');
    const clientId = url.searchParams.get('client_id');
    if (!state || !nonce || !clientId || !iss || !targetLinkUri) return redirect(location);
    const proof = target ? newStorageProof() : undefined;
    deps.store.platforms
      .saveLaunchState({
        state,
        nonce,
        clientId,
        issuer: iss,
        targetLinkUri,
        ...(target && proof ? { storage: { target, origin: url.origin, proofHash: proof.hash } } : {}),
      })
      .then(
        () => {
          if (!target || !proof) return redirect(location);
          res.type('html').send(
            storagePutPage({
              authorizationUrl: location,
              target,
              state,
              proof: proof.proof,
              nonce,
              newWindowUrl: loginWithoutStorage(deps.publicUrl(), params),
            }),
          );
        },
        (err: unknown) => {
          deps.log.error({ err }, 'could not record the LTI login');
          res.status(500).type('html').send(errorPage('internal', 'the login could not be recorded; try again'));
        },
      );
  };
}

/** The same login initiation as a GET without lti_storage_target: for a window of its own. */
function loginWithoutStorage(publicUrl: string, params: Record<string, unknown>): string {
  const url = new URL(`${publicUrl}/lti/login`);
  for (const [name, value] of Object.entries(params)) {
    if (name !== 'lti_storage_target' && typeof value === 'string') url.searchParams.set(name, value);
  }
  return url.href;
}

/**
 * The launch (form_post of id_token + state): the login's record, taken
 * (single use). Undefined when this answer is the page that first reads
 * the state back from the platform's frame (the login asked for Platform
 * Storage and the form does not carry its copy yet). Throws a refusal.
 */
export async function takeLaunchState(
  deps: LaunchStateDeps,
  body: Record<string, unknown>,
  res: Ltijs4Response,
): Promise<LaunchState | undefined> {
  const state = typeof body.state === 'string' ? body.state : '';
  const fromFrame = STORAGE_FIELDS.state in body || STORAGE_FIELDS.error in body;
  if (state && !fromFrame) {
    const pending = await deps.store.platforms.peekLaunchState(state);
    if (pending?.storage) {
      const fields = Object.fromEntries(
        Object.entries(body).filter((e): e is [string, string] => typeof e[1] === 'string'),
      );
      res.type('html').send(
        storageGetPage({
          action: `${deps.publicUrl()}/lti`,
          fields,
          target: pending.storage.target,
          origin: pending.storage.origin,
          state,
          nonce: pending.nonce,
        }),
      );
      return undefined;
    }
  }
  const login = state ? await deps.store.platforms.takeLaunchState(state) : undefined;
  if (!login) {
    throw new LaunchRefused(
      401,
      'unknown_state',
      'this launch was not started here, expired or was already used (state)',
    );
  }
  if (login.storage) checkStoredState(body, { proofHash: login.storage.proofHash, nonce: login.nonce });
  return login;
}
