import { describe, expect, it } from 'vitest';
import {
  CLAIM,
  checkLaunch,
  courseRole,
  displayName,
  type IdTokenPayload,
  LaunchRefused,
  subjectOf,
  userKey,
} from './claims.js';

const login = {
  issuer: 'https://lms.example',
  clientId: 'tool-1',
  targetLinkUri: 'https://tool.example/lti',
  nonce: 'n-1',
  createdAt: new Date('2026-01-01T10:00:00Z'),
};
const good: IdTokenPayload = {
  iss: 'https://lms.example',
  aud: 'tool-1',
  sub: 'u1',
  nonce: 'n-1',
  [CLAIM.targetLinkUri]: 'https://tool.example/lti',
  [CLAIM.deploymentId]: 'd-1',
};
const ctx = { login, deploymentKnown: true, now: new Date('2026-01-01T10:00:05Z'), loginMaxAge: 600 };

function refusal(payload: IdTokenPayload, over: Partial<typeof ctx> = {}): string | undefined {
  try {
    checkLaunch(payload, { ...ctx, ...over });
    return undefined;
  } catch (err) {
    if (err instanceof LaunchRefused) return err.code;
    throw err;
  }
}

describe('checkLaunch', () => {
  it('accepts a launch that matches its login', () => {
    expect(refusal(good)).toBeUndefined();
    expect(refusal({ ...good, aud: ['tool-1', 'other'], azp: 'tool-1' })).toBeUndefined();
  });
  it('refuses each mismatch with its own code', () => {
    expect(refusal({ ...good, iss: 'https://other.example' })).toBe('iss_mismatch');
    expect(refusal({ ...good, aud: 'other' })).toBe('aud_mismatch');
    expect(refusal({ ...good, aud: ['tool-1', 'other'] })).toBe('azp_mismatch');
    expect(refusal({ ...good, nonce: 'n-2' })).toBe('nonce_mismatch');
    expect(refusal({ ...good, [CLAIM.targetLinkUri]: 'https://tool.example/elsewhere' })).toBe(
      'target_link_uri_mismatch',
    );
    expect(refusal({ ...good, [CLAIM.deploymentId]: '' })).toBe('bad_deployment_id');
    expect(refusal({ ...good, [CLAIM.deploymentId]: 'x'.repeat(256) })).toBe('bad_deployment_id');
    expect(refusal(good, { deploymentKnown: false })).toBe('unknown_deployment');
    expect(refusal(good, { now: new Date('2026-01-01T10:20:00Z') })).toBe('login_expired');
  });
});

describe('courseRole', () => {
  const m = 'http://purl.imsglobal.org/vocab/lis/v2/membership#';
  it('makes instructors of instructors, content developers, course admins and their sub-roles', () => {
    expect(courseRole([`${m}Instructor`])).toBe('instructor');
    expect(courseRole([`${m}ContentDeveloper`])).toBe('instructor');
    expect(courseRole([`${m}Administrator`])).toBe('instructor');
    expect(courseRole(['http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant'])).toBe(
      'instructor',
    );
    expect(courseRole(['Instructor'])).toBe('instructor');
  });
  it('makes learners of everyone else, including no roles', () => {
    expect(courseRole([`${m}Learner`])).toBe('learner');
    expect(courseRole(['http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor'])).toBe('learner');
    expect(courseRole([])).toBe('learner');
    expect(courseRole(undefined)).toBe('learner');
  });
});

describe('names and keys', () => {
  it('takes name, then given and family name, then the subject', () => {
    expect(displayName({ name: ' Ada L ' }, 's')).toBe('Ada L');
    expect(displayName({ given_name: 'Ada', family_name: 'Lovelace' }, 's')).toBe('Ada Lovelace');
    expect(displayName({}, 's')).toBe('s');
  });
  it('gives the subject back from a user key', () => {
    expect(subjectOf(userKey('https://lms.example', 'a#b'), 'https://lms.example')).toBe('a#b');
    expect(subjectOf(userKey('https://lms.example', 'a'), 'https://other.example')).toBeUndefined();
  });
});
