/**
 * The runbook's pre-migration checklist, as the ApproveStart gate shows it: each box mapped to what Stepwise checks
 * and what the approver confirms. Pure (no CDK): the gate puts the text into its `States.Format` template, so values
 * known only at run time are `{}` placeholders filled from the JSONPaths returned beside the text.
 *
 * Only paths that always exist when the gate runs may be used (`$.spec.name`, the snapshot id, the execution id): a
 * missing path in a `States.Format` is a States.Runtime error, which no Catch handles. What depends on optional spec
 * fields (`testedIn`, `window`) is therefore read from preflight's `staging` and `window` checks, announced just before.
 */

/** The six boxes of the runbook's checklist, in its order. */
export const CHECKLIST_ITEMS = ['backup', 'staging', 'rollback', 'window', 'stakeholders', 'oncall'] as const;
export type ChecklistItemId = (typeof CHECKLIST_ITEMS)[number];

/** Who ticks a box: Stepwise itself, preflight (a check with that name), or the approver. */
export type CheckedBy = 'stepwise' | 'preflight' | 'approver';

export interface ChecklistItem {
  readonly id: ChecklistItemId;
  /** The runbook's wording. */
  readonly label: string;
  readonly checkedBy: CheckedBy;
  /** How it is satisfied, as shown to the approver (may hold `{}` placeholders, see {@link StartChecklist}). */
  readonly how: string;
}

/** Where the placeholders of the checklist text take their values. */
export interface ChecklistPaths {
  /** JSONPath of the migration name. */
  readonly specName: string;
  /** JSONPath of the cluster snapshot id taken after Backup. */
  readonly snapshotId: string;
  /** JSONPath of the execution id (for the approve/reject commands). */
  readonly executionId: string;
}

/** The checklist as a `States.Format` template and the JSONPaths of its `{}` placeholders, in order. */
export interface StartChecklist {
  readonly items: readonly ChecklistItem[];
  /** Markdown; literal braces are escaped (`\{`), as `States.Format` requires. */
  readonly text: string;
  readonly paths: readonly string[];
}

/** The comment an approver gives on approval, naming the on-call engineer (`stepwise approve --comment`). */
export const ON_CALL_COMMENT = 'on-call: <name>';

/** The six items; `{}` marks where a value is filled in (see {@link startChecklist} for the order). */
export function checklistItems(): ChecklistItem[] {
  return [
    {
      id: 'backup',
      label: 'Backup taken',
      checkedBy: 'stepwise',
      how: 'the Backup phase runs right after this approval: a copy of the key and the old column in schema `_stepwise` and cluster snapshot {}; both locations are announced when the backfill starts.',
    },
    {
      id: 'staging',
      label: 'Tested in staging',
      checkedBy: 'preflight',
      how: 'preflight check `staging` passes when the spec names the staging execution (`testedIn`); when it warns, approving this gate acknowledges that the migration was tested in staging.',
    },
    {
      id: 'rollback',
      label: 'Rollback plan',
      checkedBy: 'stepwise',
      how: 'automatic until the application reads the new column (drops only what expand added; the old column is never touched); review it with `stepwise plan --spec <spec file of {}>` (the rollback SQL is printed per phase).',
    },
    {
      id: 'window',
      label: 'Maintenance window',
      checkedBy: 'preflight',
      how: 'preflight check `window` passes when the spec schedules one (`window`: constrain and contract wait for it); when it warns "waived", approving accepts that they run as soon as they are reached.',
    },
    {
      id: 'stakeholders',
      label: 'Stakeholders notified',
      checkedBy: 'stepwise',
      how: 'this message is the notification: everyone subscribed to the Stepwise topic (or its Slack channel) has it.',
    },
    {
      id: 'oncall',
      label: 'On-call engineer available',
      checkedBy: 'approver',
      how: `name the on-call in your approval: \`stepwise approve {} --comment "${ON_CALL_COMMENT}"\` (kept in the execution at \`$.approvals.ApproveStart.comment\`).`,
    },
  ];
}

/** Escapes the characters `States.Format` reserves in literal text (`{`, `}` and `\`), keeping the `{}` placeholders. */
export function escapeFormatLiteral(text: string): string {
  return text
    .split('{}')
    .map((part) => part.replace(/[\\{}]/g, (c) => `\\${c}`))
    .join('{}');
}

/**
 * The ApproveStart checklist as one markdown block (`- [x]` for what Stepwise does itself, `- [ ]` for what preflight
 * reported or the approver confirms), with the JSONPaths of its placeholders.
 *
 * @example
 * const c = startChecklist({ specName: '$.spec.name', snapshotId: '$.snapshot.id', executionId: '$$.Execution.Id' });
 * fmt(`Gate *ApproveStart*. ${c.text}`, ...c.paths);
 */
export function startChecklist(paths: ChecklistPaths): StartChecklist {
  const items = checklistItems();
  const lines = items.map((item) => `- [${item.checkedBy === 'stepwise' ? 'x' : ' '}] *${item.label}*: ${item.how}`);
  const text = escapeFormatLiteral(['*Runbook checklist* (preflight results were announced just before):', ...lines].join('\n'));
  // Placeholder order follows the text: backup (snapshot), rollback (spec name), on-call (execution).
  return { items, text, paths: [paths.snapshotId, paths.specName, paths.executionId] };
}

/** Fills the placeholders the way `States.Format` does (for tests and for showing the checklist outside AWS). */
export function renderFormat(template: string, values: readonly string[]): string {
  let next = 0;
  return template.replace(/\\([\\{}])|\{\}/g, (match, escaped: string | undefined) => (escaped ?? String(values[next++] ?? match)));
}
