import { StateMachine } from 'aws-local-stepfunctions';
import { stagingCheck, windowCheck } from '../../lib/catalog/preflight-checks';
import { StateName, synthesizeDefinition } from '../../lib/workflow';
import { CHECKLIST_ITEMS, checklistItems, escapeFormatLiteral, renderFormat, startChecklist } from '../../lib/workflow/definition/checklist';
import { parseSpec } from '../../lib/spec';
import runbook from '../../examples/product-price-cents.json';

const PATHS = { specName: '$.spec.name', snapshotId: '$.snapshot.id', executionId: '$$.Execution.Id' };
const VALUES = {
  '$.spec.name': 'product-price-cents',
  '$.snapshot.id': 'stepwise-abc123',
  '$$.Execution.Id': 'arn:aws:states:us-east-1:000000000000:execution:stepwise:run-1',
} as const;
const valueOf = (path: string): string => VALUES[path as keyof typeof VALUES];

describe('the ApproveStart runbook checklist', () => {
  const checklist = startChecklist(PATHS);
  const rendered = renderFormat(checklist.text, checklist.paths.map(valueOf));

  it('has the runbook\'s six boxes, in its order, each saying who checks it', () => {
    expect(checklist.items.map((i) => i.id)).toEqual([...CHECKLIST_ITEMS]);
    expect(Object.fromEntries(checklist.items.map((i) => [i.id, i.checkedBy]))).toEqual({
      backup: 'stepwise',
      staging: 'preflight',
      rollback: 'stepwise',
      window: 'preflight',
      stakeholders: 'stepwise',
      oncall: 'approver',
    });
  });

  it('has one JSONPath per placeholder, in order, and only paths that always exist at the gate', () => {
    const placeholders = checklist.text.replace(/\\[\\{}]/g, '').match(/\{\}/g) ?? [];
    expect(placeholders).toHaveLength(checklist.paths.length);
    for (const p of checklist.paths) expect(Object.values(PATHS)).toContain(p);
    expect(checklist.paths.map(valueOf).every((v) => v !== undefined)).toBe(true);
  });

  it('renders every item with its check, the snapshot, the plan command and the approve command', () => {
    const lines = rendered.split('\n');
    expect(lines[0]).toMatch(/^\*Runbook checklist\*/);
    expect(lines.slice(1)).toHaveLength(6);
    expect(lines[1]).toMatch(/^- \[x\] \*Backup taken\*: the Backup phase runs right after this approval: .* cluster snapshot stepwise-abc123; both locations are announced/);
    expect(lines[2]).toMatch(/^- \[ \] \*Tested in staging\*: preflight check `staging` passes when the spec names the staging execution \(`testedIn`\); when it warns, approving this gate acknowledges/);
    expect(lines[3]).toMatch(/^- \[x\] \*Rollback plan\*: .*`stepwise plan --spec <spec file of product-price-cents>`/);
    expect(lines[4]).toMatch(/^- \[ \] \*Maintenance window\*: preflight check `window` passes when the spec schedules one .* when it warns "waived"/);
    expect(lines[5]).toMatch(/^- \[x\] \*Stakeholders notified\*: this message is the notification/);
    expect(lines[6]).toContain('`stepwise approve arn:aws:states:us-east-1:000000000000:execution:stepwise:run-1 --comment "on-call: <name>"`');
  });

  it('escapes the characters States.Format reserves, keeping the placeholders', () => {
    expect(escapeFormatLiteral('a {} b {x} c \\ d')).toBe('a {} b \\{x\\} c \\\\ d');
    expect(renderFormat(escapeFormatLiteral('{} and {literal} \\'), ['v'])).toBe('v and {literal} \\');
    // The checklist text as written needs no escaping: no stray brace reaches the template.
    expect(checklistItems().every((i) => !/[{}]/.test(i.how.replace(/\{\}/g, '')))).toBe(true);
  });
});

describe('preflight checks for the checklist items a program can read', () => {
  it('staging: passes naming the execution when testedIn is an execution ARN, passes with free text, warns without', () => {
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:stepwise-staging:product-price-cents-1';
    expect(stagingCheck(parseSpec({ ...runbook, testedIn: arn }))).toEqual({ name: 'staging', status: 'pass', message: `tested in staging: execution ${arn}`, hint: '' });
    expect(stagingCheck(parseSpec({ ...runbook, testedIn: 'staging cluster, 2026-11-20, 12M rows' })).status).toBe('pass');
    const missing = stagingCheck(parseSpec(runbook));
    expect(missing.status).toBe('warn');
    expect(missing.message).toMatch(/approving ApproveStart acknowledges it was tested in staging/);
    expect(missing.hint).toMatch(/"testedIn": "<execution ARN>"/);
  });

  it('window: passes describing the schedule, warns "waived" without one', () => {
    const scheduled = windowCheck(parseSpec({ ...runbook, window: { schedule: 'cron(0 2 ? * SAT *)', timezone: 'Europe/Berlin' } }));
    expect(scheduled).toMatchObject({ name: 'window', status: 'pass' });
    expect(scheduled.message).toBe('maintenance window cron(0 2 ? * SAT *) (Europe/Berlin, 120 min) holds back constrain and contract');
    const waived = windowCheck(parseSpec(runbook));
    expect(waived).toMatchObject({ name: 'window', status: 'warn' });
    expect(waived.message).toMatch(/^waived: /);
  });

  it('testedIn is an optional top-level spec field: a blank one is refused', () => {
    expect(parseSpec({ ...runbook, testedIn: 'staging' }).testedIn).toBe('staging');
    expect(parseSpec(runbook).testedIn).toBeUndefined();
    expect(() => parseSpec({ ...runbook, testedIn: '   ' })).toThrow(/testedIn/);
  });
});

describe('the ApproveStart gate message on the synthesized definition', () => {
  // aws-local-stepfunctions calls Promise.withResolvers (Node >= 22).
  const P = Promise as unknown as { withResolvers?: () => unknown };
  P.withResolvers ??= () => {
    let resolve: unknown;
    let reject: unknown;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };

  it('evaluates its States.Format to the gate sentence followed by the checklist', async () => {
    const states = synthesizeDefinition().definition['States'] as Record<string, Record<string, unknown>>;
    const gate = { ...states[StateName.ApproveStart] } as Record<string, unknown>;
    for (const k of ['Next', 'Catch', 'Retry', 'TimeoutSeconds', 'ResultPath']) delete gate[k];
    const machine = new StateMachine({ StartAt: StateName.ApproveStart, States: { [StateName.ApproveStart]: { ...gate, End: true } } } as never);
    let published: { Message: { content: { description: string; nextSteps: string[] } } } | undefined;
    const input = { spec: { name: VALUES['$.spec.name'] }, snapshot: { id: VALUES['$.snapshot.id'], status: 'pending' } };
    const context = { Execution: { Id: VALUES['$$.Execution.Id'] }, Task: { Token: 'token-1' } };
    await machine.run(input, {
      overrides: { taskResourceLocalHandlers: { [StateName.ApproveStart]: (i: unknown) => ((published = i as typeof published), {}) } },
      context: context as never,
    }).result;
    const description = published!.Message.content.description;
    const [sentence, , ...rest] = description.split('\n');
    expect(sentence).toMatch(/^Gate \*ApproveStart\*\. .* Cluster snapshot: stepwise-abc123 \(pending\)\. Approve, naming the on-call, with `stepwise approve arn:aws:states:\S+ --comment "on-call: <name>"`/);
    expect(rest.join('\n')).toBe(rendered());
    expect(published!.Message.content.nextSteps[0]).toBe(`stepwise approve ${VALUES['$$.Execution.Id']} --comment "on-call: <name>"`);
  });
});

function rendered(): string {
  const c = startChecklist(PATHS);
  return renderFormat(c.text, c.paths.map(valueOf));
}
