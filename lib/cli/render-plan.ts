import { backfillBatchSql, scanBatchSql } from '../backfill';
import { objectNames, operationFor, STATE_SCHEMA, type Plan, type TableFacts } from '../operations';
import type { Spec } from '../spec';

/** Table facts assumed when `plan` runs without a database: the key is shown as `id bigint`. */
export function assumedTableFacts(spec: Spec): TableFacts {
  return {
    schema: spec.table.schema,
    name: spec.table.name,
    primaryKey: { column: 'id', type: 'bigint' },
    columns: [],
    estimatedRows: 0,
  };
}

/**
 * The runbook `stepwise plan` prints: every phase in order with its SQL, the lock each step takes, whether it runs in
 * a transaction with lock_timeout, and why it is safe; then the rollback. Pure: spec + table facts → text.
 */
export function renderPlan(spec: Spec, table: TableFacts, assumed: boolean): string {
  const { operation, ctx } = operationFor(spec, table);
  const out: string[] = [];
  const section = (title: string) => out.push('', `── ${title} ${'─'.repeat(Math.max(0, 100 - title.length))}`);
  const plan = (p: Plan) => {
    if (p.length === 0) out.push('  (nothing to do)');
    for (const step of p) {
      out.push(`  ${step.id}  [lock: ${step.lock}; ${step.transactional ? `one transaction, lock_timeout ${spec.lockTimeoutMs} ms, retried` : 'autocommit'}]`);
      out.push(`    -- ${step.description}`);
      for (const s of step.statements) out.push(indent(`${s.sql};`, 4));
    }
  };
  out.push(`Migration "${spec.name}": ${spec.operation.type} on ${spec.table.schema}.${spec.table.name}`);
  if (assumed) out.push(`(primary key assumed "id" bigint; pass --database-url to plan against the live table)`);
  else out.push(`(primary key "${table.primaryKey.column}" ${table.primaryKey.type}; ~${table.estimatedRows} rows)`);

  section('1. preflight (read-only; refuses before any change)');
  out.push('  table exists and is a table; single-column primary key; column present; new column absent; type exists;');
  out.push('  `using` evaluates over the table in a READ ONLY transaction; no other migration running on the table;');
  for (const check of operation.dataChecks(ctx)) out.push(`  data check ${check.code}: no row where ${check.predicate}`);
  section('2. approval: start');
  section('3. backup (ACCESS SHARE)');
  out.push(`  copy of (${table.primaryKey.column}, ${spec.operation.column}) into ${STATE_SCHEMA}."${objectNames(spec.name).backupTable}"`);
  section('4. expand + dual write');
  plan(operation.expand(ctx));
  if (spec.dualWrite === 'application') out.push('  approval: the application writes both columns (dualWrite: application)');
  section(`5. backfill (batches of ${spec.backfill.batchSize}, pause ${spec.backfill.pauseMs} ms, ≤ ${spec.backfill.maxSecondsPerInvocation} s per invocation)`);
  out.push(indent(`${backfillBatchSql(table, operation.backfill(ctx), false)};`, 4));
  section('6. verify (read-only keyset batches)');
  const v = operation.verify(ctx);
  out.push(indent(`${scanBatchSql(table, { nulls: v.isNull, mismatches: v.mismatch }, false)};`, 4));
  section('7. constrain');
  plan(operation.constrain(ctx));
  section(`8. approval: read-from-new deployed, then soak ${spec.soak}, verify again, approval: contract, verify again`);
  section('9. contract (no automatic rollback after this commits)');
  plan(operation.contract(ctx));
  section(`on failure before ${spec.dualWrite === 'application' ? 'the application dual-write is requested' : 'constrain finishes'}: rollback (old column untouched; only objects that exist are dropped)`);
  plan(operation.rollback(ctx));
  section('on failure once the application was told to use the new column: rollback keeps it, its index and the backup');
  plan(operation.release(ctx));
  return out.join('\n');
}

function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}
