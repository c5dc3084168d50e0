/**
 * @file ltijs's refusals of an id_token (its error messages) as our
 * refusal codes and sentences a learner can act on (lti/README.md lists
 * the codes).
 */

const ERRORS: Array<[RegExp, string, string]> = [
  [
    /invalid signature|invalid algorithm|jwt malformed|INVALID_JWT/i,
    'bad_signature',
    'the id_token signature does not verify with the platform key',
  ],
  [
    /KID_NOT_FOUND|KEY_NOT_FOUND|KEYSET_NOT_FOUND/,
    'unknown_key',
    'the id_token is signed with a key (kid) the platform does not publish',
  ],
  [/jwt expired/i, 'token_expired', 'the id_token has expired'],
  [/jwt not active/i, 'token_not_yet_valid', 'the id_token is not valid yet'],
  [/TOKEN_TOO_OLD/, 'token_too_old', 'the id_token was issued too long ago (iat)'],
  [/NONCE_ALREADY_RECEIVED/, 'nonce_replayed', 'this id_token nonce was used before: a replayed launch'],
  [/UNREGISTERED_PLATFORM/, 'unknown_platform', 'no platform is registered for this issuer (iss) and client id (aud)'],
  [/PLATFORM_NOT_ACTIVATED/, 'platform_inactive', 'this platform is registered but not activated by an administrator'],
  [/ALG_NOT_RS256/, 'bad_algorithm', 'the id_token must be signed with RS256'],
  [/AZP_DOES_NOT_MATCH/, 'azp_mismatch', 'the id_token azp is not our client id'],
  [/ISS_CLAIM_DOES_NOT_MATCH/, 'iss_mismatch', 'the id_token issuer is not the one that started the login'],
  [/WRONG_LTI_VERSION/, 'bad_version', 'the LTI version claim must be 1.3.0'],
  [/NO_([A-Z_]+)_CLAIM/, 'missing_claim', 'a required claim is missing'],
  [/NO_LTIK_OR_IDTOKEN_FOUND/, 'no_launch', 'no launch here: open the activity from the course'],
];

export function describeLtijsError(message: string): { code: string; text: string } {
  for (const [pattern, code, text] of ERRORS) {
    const m = pattern.exec(message);
    if (m) return { code, text: code === 'missing_claim' ? `the id_token has no ${m[1]?.toLowerCase()} claim` : text };
  }
  return { code: 'invalid_launch', text: `the launch could not be verified (${message})` };
}
