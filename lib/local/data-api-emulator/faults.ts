/** Operations of the emulator, named as the Data API's HTTP paths are. */
export type DataApiOperation = 'Execute' | 'BatchExecute' | 'BeginTransaction' | 'CommitTransaction' | 'RollbackTransaction';

/** What an injected fault does instead of the real work. `ConnectionReset` destroys the socket without answering. */
export type FaultKind = 'StatementTimeoutException' | 'DatabaseResumingException' | 'ServiceUnavailableError' | 'ConnectionReset';

/** One fault rule: the next `times` matching requests fail with `error` (after `delayMs`, when given). */
export interface FaultRule {
  /** Only requests to this operation match. @default any operation */
  readonly operation?: DataApiOperation;
  /** Only requests whose `sql` matches (Execute, BatchExecute). */
  readonly sqlMatch?: RegExp;
  readonly times: number;
  readonly error: FaultKind;
  readonly delayMs?: number;
}

/**
 * Fault injection for tests: rules are matched in the order they were added, and each fires `times` times. The
 * statement of a faulted request is never run.
 *
 * @example
 * const faults = new FaultInjector();
 * const emulator = await startDataApiEmulator({ databaseUrl, faults });
 * faults.inject({ operation: 'Execute', sqlMatch: /UPDATE/, times: 2, error: 'DatabaseResumingException' });
 */
export class FaultInjector {
  private readonly rules: { rule: FaultRule; left: number }[] = [];

  /** Adds a rule. */
  inject(rule: FaultRule): void {
    this.rules.push({ rule, left: rule.times });
  }

  /** Removes every rule. */
  clear(): void {
    this.rules.length = 0;
  }

  /** How many times rules have not fired yet, summed (0 once every injected fault was served). */
  pending(): number {
    return this.rules.reduce((n, r) => n + r.left, 0);
  }

  /** Consumes and returns the first rule matching this request, if any. @internal */
  take(operation: DataApiOperation, sql: string | undefined): FaultRule | undefined {
    const hit = this.rules.find(
      ({ rule, left }) =>
        left > 0 &&
        (rule.operation === undefined || rule.operation === operation) &&
        (rule.sqlMatch === undefined || (sql !== undefined && rule.sqlMatch.test(sql))),
    );
    if (!hit) return undefined;
    hit.left -= 1;
    return hit.rule;
  }
}
