import type { Executor } from '../db/executor';
import { StepwiseError } from '../errors';
import type { Plan, Statement, Step } from '../operations/plan';

/** Runs a phase's plan in order; returns the ids of the steps run. Each step is idempotent, so a retry is safe. */
export async function executePlan(db: Executor, plan: Plan, lockTimeoutMs: number): Promise<string[]> {
  const done: string[] = [];
  for (const step of plan) {
    if (step.transactional) {
      await db.transaction(async (tx) => runStatements(tx, step), { lockTimeoutMs });
    } else {
      await runStatements(db, step);
    }
    await runCheck(db, step);
    done.push(step.id);
  }
  return done;
}

async function runStatements(db: Executor, step: Step): Promise<void> {
  for (const statement of step.statements) {
    if (await shouldSkip(db, statement)) continue;
    await db.query(statement.sql, statement.params);
  }
}

async function shouldSkip(db: Executor, statement: Statement): Promise<boolean> {
  if (!statement.skipWhen) return false;
  const row = (await db.query<{ skip: boolean }>(statement.skipWhen.sql, statement.skipWhen.params)).rows[0];
  return row?.skip === true;
}

async function runCheck(db: Executor, step: Step): Promise<void> {
  if (!step.check) return;
  const row = (await db.query<{ ok: boolean }>(step.check.sql, step.check.params)).rows[0];
  if (row?.ok !== true) {
    throw new StepwiseError('SW_STEP_CHECK_FAILED', step.check.failure, step.check.hint, { step: step.id }, { retryable: true });
  }
}
