/**
 * The conformance suite every {@link Backend} must pass: each case of the shared table (cases.ts, which the browser
 * page runs too) as one vitest `it`, grouped in `describe` blocks, with each check an expect. See cases.ts for how
 * the inputs are drawn, the references and the tolerance rules (rel, scaled by √k for sums of k terms and by κ for
 * the solutions of systems).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '@nladmm/core';
import { type Checks, caseContext, caseGroups } from './cases.ts';

export interface ConformanceTolerance {
  readonly rel: number;
}

/** The table's checks as expects: the first failing check ends its case, with a message naming it. */
const expectChecks: Checks = {
  within(op, what, error, bound) {
    expect(error, `${op} ${what}: error ${error} exceeds bound ${bound}`).toBeLessThanOrEqual(bound);
  },
  equal(op, what, got, want) {
    if (typeof got === 'number' && typeof want === 'number') expect(got, `${op} ${what}`).toBe(want);
    else expect(Array.from(got as ArrayLike<number>), `${op} ${what}`).toEqual(Array.from(want as ArrayLike<number>));
  },
  holds(op, what, ok, detail) {
    expect(ok, `${op} ${what}${detail ? `: ${detail}` : ''}`).toBe(true);
  },
};

export function describeBackendConformance(
  label: string,
  makeBackend: () => Promise<Backend> | Backend,
  tolerance: ConformanceTolerance,
): void {
  describe(`backend conformance: ${label}`, () => {
    let backend!: Backend;
    let release: (() => void) | undefined;

    beforeAll(async () => {
      backend = await makeBackend();
    });
    afterEach(() => {
      release?.();
      release = undefined;
    });
    afterAll(() => backend?.dispose());

    for (const [group, cases] of caseGroups()) {
      describe(group, () => {
        for (const c of cases) {
          it(c.title, async () => {
            const session = caseContext(backend, tolerance.rel, expectChecks);
            release = session.release;
            await c.run(session.ctx);
          });
        }
      });
    }
  });
}
