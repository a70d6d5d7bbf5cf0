/**
 * Approvals from Slack, end to end on the twin as far as it runs locally: the stack synthesized with approval links,
 * its approval notification (SNS sink) carries a link; the approval-link handler, served as its Function URL would
 * serve it, shows the gate (changing nothing), then approves or rejects through the twin's Step Functions endpoint,
 * and the approver lands in the execution history. What only AWS can prove: Chatbot rendering the Markdown link in
 * Slack, and the deployed Function URL (docs/DEPLOY.md).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SFNClient, type HistoryEvent } from '@aws-sdk/client-sfn';
import { approvalOutput, parseDecision, parseLink } from '../../lib/approvals/approval-link';
import { fetchHistory, readExecutionStatus, resolveExecutionArn, startCommand, type ExecutionStatusView } from '../../lib/cli/operator';
import { startApprovalLinkServer, type ApprovalLinkServer } from '../../lib/local/approval-link-server';
import { startStepwiseEndpoint, type StepwiseEndpoint } from '../../lib/local/sfn-endpoint';
import type { AslDefinition, SnsMessage } from '../../lib/local/step-functions';
import { synthesizeDefinition } from '../../lib/workflow/synthesize-definition';
import { StateName } from '../../lib/workflow/state-names';
import { NO_RETRY_PAUSES, runbookSpec, seedProducts } from './e2e-helpers';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

jest.setTimeout(180_000);

let endpoint: StepwiseEndpoint;
let links: ApprovalLinkServer;
let client: SFNClient;
let db: TestDatabase;
const messages: SnsMessage[] = [];
const dir = mkdtempSync(join(tmpdir(), 'stepwise-link-'));
const specFile = join(dir, 'spec.json');
writeFileSync(specFile, JSON.stringify(runbookSpec()));

beforeAll(async () => {
  links = await startApprovalLinkServer(() => client);
  const { definition } = synthesizeDefinition({ context: { approvalLinks: 'true' }, approvalLinkUrl: links.url });
  endpoint = await startStepwiseEndpoint({ definition: definition as unknown as AslDefinition, sns: (m) => void messages.push(m), maxWaitMs: 0, retryIntervalOverrides: NO_RETRY_PAUSES });
  client = new SFNClient({ endpoint: endpoint.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
});
afterAll(async () => {
  client?.destroy();
  await endpoint?.close();
  await links?.close();
});
beforeEach(async () => {
  db = await createTestDatabase('approval_link');
  Object.assign(process.env, db.env);
  await seedProducts(db, 300);
});
afterEach(async () => db.close());

async function until(execution: string, done: (v: ExecutionStatusView) => boolean): Promise<ExecutionStatusView> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const view = await readExecutionStatus(client, { endpointUrl: endpoint.url, execution });
    if (done(view)) return view;
    if (Date.now() > deadline) throw new Error(`never matched: ${JSON.stringify(view)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The link in the latest approval notification of `gate` for this execution. */
function linkIn(executionArn: string, gate: string): string {
  const message = [...messages].reverse().find((m) => m.executionArn === executionArn && m.stateName === gate);
  if (!message) throw new Error(`no ${gate} notification`);
  const description = (JSON.parse(message.message) as { content: { description: string } }).content.description;
  const match = /\[Approve or reject in the browser\]\((http[^)\s]+)\)/.exec(description);
  if (!match) throw new Error(`no approval link in: ${description}`);
  return match[1]!;
}

const post = (url: string, form: Record<string, string>) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });

describe('approval link (pure)', () => {
  it('keeps the token as written (+ and / survive), and refuses links or forms that lack something', () => {
    expect(parseLink('execution=arn:aws:states:us-east-1:1:execution:m:e&gate=ApproveStart&token=AAAA+b/c==')).toEqual({ execution: 'arn:aws:states:us-east-1:1:execution:m:e', gate: 'ApproveStart', token: 'AAAA+b/c==' });
    expect(parseLink('execution=x&gate=y')).toBeUndefined();
    expect(parseDecision('decision=approve&approver=')).toEqual({ problem: expect.stringMatching(/^Type your name/) });
    expect(parseDecision('decision=reject&approver=Dana')).toEqual({ problem: expect.stringMatching(/^Give a reason/) });
    expect(parseDecision('approver=Dana')).toEqual({ problem: 'Choose Approve or Reject.' });
    expect(JSON.parse(approvalOutput({ approved: true, approver: 'Dana', comment: '' }, new Date(0)))).toEqual({ approved: true, comment: null, approver: 'Dana', via: 'approval-link', at: '1970-01-01T00:00:00.000Z' });
  });
});

describe('approval link on the twin', () => {
  it('opening changes nothing; approving records the approver; a used link is refused; rejecting after Constrain releases (keeps the new column) with who and why', async () => {
    await startCommand({ endpointUrl: endpoint.url, spec: specFile, name: 'linked' }, () => undefined);
    const arn = await resolveExecutionArn(client, 'linked', { endpointUrl: endpoint.url });
    await until('linked', (v) => v.waitingFor === StateName.ApproveStart);
    const link = linkIn(arn, StateName.ApproveStart);
    expect(link.startsWith(`${links.url}?execution=${arn}&gate=ApproveStart&token=`)).toBe(true);

    // Opening (a Slack unfurl, a mail client's prefetch) only shows the gate and the form.
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    expect(html).toContain('waits at <b>ApproveStart</b>');
    expect(html).toContain('<button name="decision" value="approve">');
    expect((await readExecutionStatus(client, { endpointUrl: endpoint.url, execution: 'linked' })).waitingFor).toBe(StateName.ApproveStart);

    // A form without a name is refused and sends nothing.
    const nameless = await post(link, { decision: 'approve', approver: ' ' });
    expect(nameless.status).toBe(400);
    expect(await nameless.text()).toMatch(/Type your name.*The gate still waits/);
    expect((await readExecutionStatus(client, { endpointUrl: endpoint.url, execution: 'linked' })).waitingFor).toBe(StateName.ApproveStart);

    const approved = await post(link, { decision: 'approve', approver: 'Dana (DBA on call)', comment: 'on-call: Dana' });
    expect(approved.status).toBe(200);
    expect(await approved.text()).toContain('Approved ApproveStart of');

    // The next gate: the first link no longer answers anything.
    await until('linked', (v) => v.waitingFor === StateName.ConfirmReadFromNewDeployed || v.status !== 'RUNNING');
    const stale = await post(link, { decision: 'approve', approver: 'Dana' });
    expect(stale.status).toBe(410);
    expect(await stale.text()).toMatch(/no longer waits/);

    const rejected = await post(linkIn(arn, StateName.ConfirmReadFromNewDeployed), { decision: 'reject', approver: 'Lee', comment: 'the app deploy failed' });
    expect(rejected.status).toBe(200);
    const end = await until('linked', (v) => v.status !== 'RUNNING');
    expect(end.status).toBe('FAILED');

    // Who decided, and why, is in the execution history.
    const history: HistoryEvent[] = await fetchHistory(client, arn);
    const outputs = history.map((e) => e.taskSucceededEventDetails?.output).filter((o): o is string => o !== undefined).map((o) => JSON.parse(o) as Record<string, unknown>);
    expect(outputs).toContainEqual(expect.objectContaining({ approved: true, approver: 'Dana (DBA on call)', comment: 'on-call: Dana', via: 'approval-link' }));
    const failure = history.find((e) => e.taskFailedEventDetails?.error === 'Rejected')?.taskFailedEventDetails;
    expect(failure?.cause).toBe('the app deploy failed (rejected by Lee through the approval link)');
    const columns = await db.pg.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'Product'`);
    // Rejected after Constrain: the team was told to deploy the reader, so the rollback keeps the new column (issue:
    // nothing automatic drops what the application may read) and removes only the sync machinery.
    expect(columns.rows.map((r) => r.column_name)).toContain('new_price_cents');
    const triggers = await db.pg.query(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = '"Product"'::regclass AND tgname LIKE '\\_stepwise\\_%'`);
    expect(triggers.rows[0].n).toBe(0);
  });
});
