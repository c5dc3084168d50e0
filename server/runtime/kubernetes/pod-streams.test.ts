import { describe, expect, it } from 'vitest';
import { asUser, exitCodeOf } from './pod-streams.js';

describe('exitCodeOf', () => {
  it('reads the exit code from the final status frame of pods/exec', () => {
    expect(exitCodeOf({ status: 'Success' })).toBe(0);
    expect(
      exitCodeOf({
        status: 'Failure',
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: '3' }] },
      }),
    ).toBe(3);
    expect(exitCodeOf({ status: 'Failure', message: 'command not found' })).toBe(1);
  });
});

describe('asUser', () => {
  it('runs argv as the user through su, quoting every argument', () => {
    expect(asUser(['echo', "it's"], undefined)).toEqual(['echo', "it's"]);
    expect(asUser(['echo', "it's", 'a b'], 'ada')).toEqual([
      'su',
      '-s',
      '/bin/sh',
      'ada',
      '-c',
      `'echo' 'it'\\''s' 'a b'`,
    ]);
  });
});
