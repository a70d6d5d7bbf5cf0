import { PassThrough } from 'node:stream';
import { rejectDoes, terminalApprover } from '../../lib/cli/terminal-approver';
import type { PendingApproval } from '../../lib/local/step-functions';

const gate = (stateName: string): PendingApproval => ({
  token: `t-${stateName}`,
  executionArn: 'arn:aws:states:us-east-1:000000000000:execution:stepwise:x',
  stateName,
  message: JSON.stringify({ version: '1.0', source: 'custom', content: { textType: 'client-markdown', title: `approve ${stateName}?`, description: 'Stepwise drops the old column.' } }),
  since: new Date(),
});

describe('terminalApprover', () => {
  it('shows what is about to happen and approves or rejects with a reason, one gate at a time', async () => {
    // Prepare
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = '';
    output.on('data', (d: Buffer) => (shown += d.toString()));
    const approver = terminalApprover(input, output);

    // Act
    const first = approver(gate('ApproveStart'));
    const second = approver(gate('ApproveContract'));
    input.write('maybe\n');
    input.write('a\n');
    await expect(first).resolves.toEqual({ approved: true, comment: 'approved on the terminal' });
    input.write('r\n');
    input.write('the soak found drift\n');

    // Assess
    await expect(second).resolves.toEqual({ approved: false, reason: 'the soak found drift' });
    expect(shown).toContain('approval needed: ApproveStart');
    expect(shown).toContain('approve ApproveStart?');
    expect(shown).toContain('Stepwise drops the old column.');
    expect(shown.indexOf('ApproveContract')).toBeGreaterThan(shown.indexOf('approve or reject'));
    // Each prompt says what reject does at that gate.
    expect(shown).toContain('│ approve: the migration goes on.  reject: the run ends here; nothing has changed yet, so there is nothing to undo.\n└ approve or reject? [a/r] ');
    expect(shown).toContain('reject: contract does not run; the application already reads the new column, so the rollback drops nothing and the run ends RollbackFailed with the manual steps.');
  });

  it('says what reject does at the gates that roll back', () => {
    expect(rejectDoes('ConfirmReadFromNewDeployed')).toBe('the migration is rolled back: the new column, the sync trigger and the index are dropped; the old column and its data are untouched.');
    expect(rejectDoes('ConfirmDualWriteDeployed')).toBe(rejectDoes('ConfirmReadFromNewDeployed'));
  });
});
