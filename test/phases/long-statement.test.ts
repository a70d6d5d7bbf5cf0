import { DEFAULT_PHASE_BUDGET_MS, LONG_STATEMENT_MARGIN_MS, longStatementTag, migrationTagPrefix, taggedSql } from '../../lib/phases/long-statement';
import { phaseDeadline } from '../../lib/phases/phase-handler';
import { longStatementsCheck, statementTimeoutCheck } from '../../lib/catalog/preflight-checks';

describe('long statement tags', () => {
  it('name the migration by a digest, so no spec text reaches the SQL', () => {
    const tag = longStatementTag("shop'; DROP TABLE x; --", 'expand.index');
    expect(tag).toMatch(/^stepwise\/[0-9a-f]{16}\/expand\.index$/);
    expect(tag).not.toContain(':'); // the Data API would read :name as a parameter
    expect(taggedSql(tag, 'CREATE INDEX CONCURRENTLY i ON t (c)')).toBe(`/* ${tag} */ CREATE INDEX CONCURRENTLY i ON t (c)`);
    expect(tag.startsWith(migrationTagPrefix("shop'; DROP TABLE x; --"))).toBe(true);
    expect(migrationTagPrefix('a')).not.toBe(migrationTagPrefix('b'));
  });

  it('refuse a step id that could end the comment', () => {
    expect(() => longStatementTag('m', 'x */ DROP')).toThrow(/cannot go into a tag/);
  });
});

describe('phaseDeadline', () => {
  it('watches at most the default budget, and never past the invocation’s remaining time less the margin', () => {
    expect(phaseDeadline(1_000, undefined)).toBe(1_000 + DEFAULT_PHASE_BUDGET_MS);
    expect(phaseDeadline(1_000, 900_000)).toBe(1_000 + DEFAULT_PHASE_BUDGET_MS);
    expect(phaseDeadline(1_000, 60_000)).toBe(1_000 + 60_000 - LONG_STATEMENT_MARGIN_MS);
    expect(phaseDeadline(1_000, 1_000)).toBe(1_000);
  });
});

describe('statementTimeoutCheck', () => {
  it('warns about a statement_timeout the server, the role or the database sets, not one a client set for itself', () => {
    expect(statementTimeoutCheck({ ms: 0, source: 'default' }).status).toBe('pass');
    expect(statementTimeoutCheck({ ms: 45_000, source: 'client' }).status).toBe('pass');
    for (const source of ['configuration file', 'user', 'database']) {
      expect(statementTimeoutCheck({ ms: 300_000, source })).toMatchObject({ status: 'warn', code: 'SW_STATEMENT_TIMEOUT_SET', message: expect.stringContaining(`300000 ms (from ${source})`) });
    }
  });
});

describe('longStatementsCheck', () => {
  it('passes when tags show as sent, and warns (SW_TAGS_NOT_VISIBLE) when they do not', () => {
    expect(longStatementsCheck(true).status).toBe('pass');
    expect(longStatementsCheck(false)).toMatchObject({ status: 'warn', code: 'SW_TAGS_NOT_VISIBLE' });
  });
});
