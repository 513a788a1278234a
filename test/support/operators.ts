// Operators for end-to-end tests of critical commands: throwaway keys made by `tern gse keygen`
// in the test's directory, and the `cmd` section of a node that takes commands from them.
import { expect } from 'vitest';
import { runTern } from './node-process.js';

/**
 * alice.key (operator 1: operate and approve) and bob.key (operator 2: approve) in `dir`, and a
 * `cmd` section with k = 2, so a critical command runs only with both signatures. One
 * verification per dispatcher slot, as a loaded flight computer would budget it.
 */
export async function twoOperators(dir: string): Promise<Record<string, unknown>> {
  for (const [name, id] of [['alice', 1], ['bob', 2]] as const) {
    const made = await runTern(['gse', 'keygen', '--out', `${name}.key`, '--id', String(id), '--name', name], dir);
    expect(made.code, made.stderr).toBe(0);
  }
  return {
    approvals: 2,
    operators: [
      { id: 1, name: 'alice', roles: ['operate', 'approve'], publicKeyFile: 'alice.key.pub.json' },
      { id: 2, name: 'bob', roles: ['approve'], publicKeyFile: 'bob.key.pub.json' },
    ],
    dispatch: { budgetUs: 3000, verificationsPerSlot: 1 },
    sequence: { budgetUs: 500 },
  };
}
