import { Phase } from '../constants';
import type { LambdaHandler } from './step-functions';
import { handler as backfill } from '../../lambdas/backfill';
import { handler as backup } from '../../lambdas/backup';
import { handler as constrain } from '../../lambdas/constrain';
import { handler as contract } from '../../lambdas/contract';
import { handler as expand } from '../../lambdas/expand';
import { handler as preflight } from '../../lambdas/preflight';
import { handler as rollback } from '../../lambdas/rollback';
import { handler as verify } from '../../lambdas/verify';
import { handler as window } from '../../lambdas/window';

/**
 * The Lambda handler modules from the sources, by function name (the phase), for tests that call a handler in process.
 * The local twin does not use them: it runs the deployed bundles (lib/local/bundled-lambdas.ts).
 * Typed as `Record<Phase, …>`, so a phase without a handler fails to compile.
 */
export const PHASE_LAMBDAS: Readonly<Record<Phase, LambdaHandler>> = {
  [Phase.Preflight]: preflight,
  [Phase.Backup]: backup,
  [Phase.Expand]: expand,
  [Phase.Backfill]: backfill,
  [Phase.Verify]: verify,
  [Phase.Constrain]: constrain,
  [Phase.Contract]: contract,
  [Phase.Rollback]: rollback,
  [Phase.Window]: window,
};
