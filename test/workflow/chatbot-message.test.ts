import { StateName, synthesizeDefinition } from '../../lib/workflow';

/**
 * AWS Chatbot custom notifications: https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html
 * Required: version "1.0", source "custom", content.description; content.textType "client-markdown" (optional in the
 * schema, set by us), content.title, content.nextSteps (array of strings), content.keywords (array of strings),
 * metadata.threadId / summary / eventType / relatedResources / additionalContext (string values).
 */
function assertChatbotSchema(name: string, message: unknown): void {
  const m = message as Record<string, unknown>;
  const where = (field: string) => `${name}: ${field}`;
  expect([where('keys'), Object.keys(m).sort()]).toEqual([where('keys'), ['content', 'metadata', 'source', 'version']]);
  expect([where('version'), m['version']]).toEqual([where('version'), '1.0']);
  expect([where('source'), m['source']]).toEqual([where('source'), 'custom']);
  const content = m['content'] as Record<string, unknown>;
  const bare = (k: string) => k.replace(/\.\$$/, '');
  expect([where('content keys'), Object.keys(content).map(bare).filter((k) => !['textType', 'title', 'description', 'nextSteps', 'keywords'].includes(k))]).toEqual([where('content keys'), []]);
  expect([where('textType'), content['textType']]).toEqual([where('textType'), 'client-markdown']);
  for (const field of ['title', 'description']) {
    const value = content[field] ?? content[`${field}.$`];
    expect([where(field), typeof value]).toEqual([where(field), 'string']);
  }
  const steps = content['nextSteps'] ?? content['nextSteps.$'];
  if (steps !== undefined) {
    // Either a literal array of strings or a States.Array(...) of States.Format strings.
    if (Array.isArray(steps)) for (const s of steps) expect(typeof s).toBe('string');
    else expect(String(steps)).toMatch(/^States\.Array\(States\.Format\(/);
  }
  const metadata = m['metadata'] as Record<string, unknown>;
  expect(Object.keys(metadata).map(bare).filter((k) => !['threadId', 'summary', 'eventType', 'relatedResources', 'additionalContext'].includes(k))).toEqual([]);
  expect(metadata['threadId.$']).toBe('$.spec.name');
  const extra = metadata['additionalContext'] as Record<string, unknown> | undefined;
  // Values are strings, or JSONPath (`key.$`) resolving to the execution ARN, the task token or the snapshot id.
  if (extra) for (const [k, v] of Object.entries(extra)) expect([k, typeof v]).toEqual([k, 'string']);
}

describe('SNS messages follow the AWS Chatbot custom-notification schema', () => {
  const { definition } = synthesizeDefinition();
  const states = definition['States'] as Record<string, { Resource?: string; Parameters?: { Message?: unknown } }>;
  const publishers = Object.entries(states).filter(([, s]) => s.Resource?.startsWith('arn:aws:states:::sns:publish'));

  it('covers every notification and gate', () => {
    expect(publishers.map(([n]) => n)).toEqual(expect.arrayContaining([StateName.NotifyPlanned, StateName.ApproveStart, StateName.NotifyContractFailed]));
    expect(publishers.length).toBeGreaterThanOrEqual(12);
  });

  it.each(Object.entries(states).filter(([, s]) => s.Resource?.startsWith('arn:aws:states:::sns:publish')))('%s', (name, state) => {
    assertChatbotSchema(name, state.Parameters?.Message);
  });

  it('names the snapshot in every notification after the backup and offers the restore on contract failure', () => {
    for (const name of [StateName.NotifyExpanded, StateName.NotifyBackfilled, StateName.NotifyConstrained, StateName.NotifySucceeded,
      StateName.NotifyFailed, StateName.NotifyRolledBack, StateName.NotifyRollbackFailed, StateName.NotifyContractFailed, StateName.ApproveContract]) {
      expect([name, JSON.stringify(states[name]?.Parameters?.Message)]).toEqual([name, expect.stringContaining('$.snapshot.id')]);
    }
    expect(JSON.stringify(states[StateName.NotifyContractFailed]?.Parameters?.Message)).toContain('aws rds restore-db-cluster-from-snapshot');
  });
});
