import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSnsSink, summarize } from '../../../lib/local/sns-sink';
import type { SnsMessage } from '../../../lib/local/step-functions';

const chatbot = (title: string) =>
  JSON.stringify({ version: '1.0', source: 'custom', content: { textType: 'client-markdown', title, description: 'All 3000 rows', nextSteps: ['Deploy'] } });

const message = (body: string, subject?: string): SnsMessage => ({
  topicArn: 'arn:aws:sns:us-east-1:000000000000:stepwise',
  ...(subject ? { subject } : {}),
  message: body,
  parameters: {},
  executionArn: 'arn:exec',
  stateName: 'Notify',
});

describe('createSnsSink', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stepwise-sns-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends JSON lines, prints one-line summaries and posts to Slack', async () => {
    const file = join(dir, 'nested', 'notifications.jsonl');
    const lines: string[] = [];
    const posts: Array<{ url: string; body: unknown }> = [];
    const fakeFetch = (async (url: string, init: RequestInit) => {
      posts.push({ url, body: JSON.parse(String(init.body)) });
      return new Response('ok', { status: 200 });
    }) as unknown as typeof fetch;
    const sink = createSnsSink({ jsonlFile: file, print: (l) => lines.push(l), slackWebhookUrl: 'https://hooks.example/x', fetch: fakeFetch });

    await sink(message(chatbot('Backfill done'), 'Stepwise'));
    await sink(message('plain\ntext'));

    const records = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toEqual([
      { at: expect.any(String), topicArn: 'arn:aws:sns:us-east-1:000000000000:stepwise', subject: 'Stepwise', message: chatbot('Backfill done') },
      { at: expect.any(String), topicArn: 'arn:aws:sns:us-east-1:000000000000:stepwise', message: 'plain\ntext' },
    ]);
    expect(lines).toEqual(['[notify] Stepwise: Backfill done', '[notify] plain text']);
    expect(posts).toEqual([
      { url: 'https://hooks.example/x', body: { text: '*Backfill done*\nAll 3000 rows\n• Deploy' } },
      { url: 'https://hooks.example/x', body: { text: 'plain\ntext' } },
    ]);
  });

  it('logs webhook and file errors instead of throwing', async () => {
    const errors: string[] = [];
    const failingFetch = (async () => {
      throw new Error('connection refused');
    }) as unknown as typeof fetch;
    const sink = createSnsSink({
      jsonlFile: join(dir, 'missing-dir-is-a-file.jsonl', 'x'),
      print: false,
      slackWebhookUrl: 'https://hooks.example/x',
      fetch: failingFetch,
      logError: (m) => errors.push(m),
    });
    // Make the parent path a file so mkdir fails.
    await (await import('node:fs/promises')).writeFile(join(dir, 'missing-dir-is-a-file.jsonl'), '');
    await expect(sink(message('hi'))).resolves.toBeUndefined();
    expect(errors).toHaveLength(2);
    expect(errors.join('\n')).toMatch(/connection refused/);
  });

  it('summarizes non-Chatbot JSON as the raw message', () => {
    expect(summarize({ message: '{"a":1}' })).toBe('[notify] {"a":1}');
    expect(summarize({ message: 'x'.repeat(500) })).toHaveLength(200);
  });
});
