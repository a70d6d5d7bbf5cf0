/**
 * Where the local twin's SNS publishes go: one JSON line per message in a file, a one-line summary on the terminal,
 * and, when configured, a Slack incoming webhook (what AWS Chatbot would post). Delivery problems are logged, never
 * thrown: like SNS, a publish succeeds even when a subscriber is down.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SnsMessage, SnsPublisher } from './step-functions/types';

/** Default JSONL file, relative to the working directory. */
export const DEFAULT_NOTIFICATIONS_FILE = '.stepwise/notifications.jsonl';

export interface SnsSinkOptions {
  /** JSONL file to append to (directories created); `false` to keep no file. Default `.stepwise/notifications.jsonl`. */
  readonly jsonlFile?: string | false;
  /** Receives the one-line summary of each message; default stdout; `false` to stay quiet. */
  readonly print?: ((line: string) => void) | false;
  /** Slack incoming webhook URL; each message is posted there when set. */
  readonly slackWebhookUrl?: string;
  /** Receives delivery errors (file, webhook); default stderr. */
  readonly logError?: (message: string) => void;
  /** `fetch` to use (tests); the global one by default. */
  readonly fetch?: typeof fetch;
  /** Webhook timeout in ms (default 5000). */
  readonly webhookTimeoutMs?: number;
}

/** One line of the JSONL file. */
export interface NotificationRecord {
  readonly at: string;
  readonly topicArn?: string;
  readonly subject?: string;
  readonly message: string;
}

/** The parts of an AWS Chatbot custom notification a human reads. */
export interface ChatbotContent {
  readonly title?: string;
  readonly description?: string;
  readonly nextSteps?: readonly string[];
}

/** The `content` of an AWS Chatbot custom notification (`{"version":"1.0","source":"custom","content":{…}}`), if it is one. */
export function chatbotContent(message: string): ChatbotContent | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const { source, content } = parsed as { source?: unknown; content?: unknown };
  if (source !== 'custom' || content === null || typeof content !== 'object') return undefined;
  const c = content as Record<string, unknown>;
  return {
    ...(typeof c.title === 'string' ? { title: c.title } : {}),
    ...(typeof c.description === 'string' ? { description: c.description } : {}),
    ...(Array.isArray(c.nextSteps) ? { nextSteps: c.nextSteps.filter((s): s is string => typeof s === 'string') } : {}),
  };
}

const oneLine = (text: string, max = 200): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** The terminal summary of a message: `[notify] <subject>: <Chatbot title | raw message>`. */
export function summarize(message: Pick<SnsMessage, 'subject' | 'message'>): string {
  const title = chatbotContent(message.message)?.title ?? message.message;
  return oneLine(`[notify] ${message.subject ? `${message.subject}: ` : ''}${title}`);
}

/** Slack webhook body: Chatbot content as markdown text, else the raw message. Newlines are kept as newlines. */
export function slackPayload(message: Pick<SnsMessage, 'subject' | 'message'>): { text: string } {
  const content = chatbotContent(message.message);
  if (!content) return { text: message.subject ? `*${message.subject}*\n${message.message}` : message.message };
  const lines = [content.title ? `*${content.title}*` : undefined, content.description && readableErrors(content.description), ...(content.nextSteps ?? []).map((s) => `• ${s}`)];
  return { text: lines.filter((l): l is string => l !== undefined && l !== '').join('\n') };
}

/**
 * A failure notification carries the Lambda error's Cause, which is JSON (`{"errorType":…,"errorMessage":"…\n  fix: …",
 * "trace":[…]}`): in Slack it shows as its message, its newlines as newlines, without the stack trace.
 */
export function readableErrors(text: string): string {
  let out = text;
  for (let start = out.indexOf('{"errorType"'); start >= 0; start = out.indexOf('{"errorType"', start + 1)) {
    for (let end = out.lastIndexOf('}'); end > start; end = out.lastIndexOf('}', end - 1)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(out.slice(start, end + 1));
      } catch {
        continue;
      }
      const errorMessage = (parsed as { errorMessage?: unknown }).errorMessage;
      if (typeof errorMessage === 'string') out = `${out.slice(0, start)}${errorMessage}${out.slice(end + 1)}`;
      break;
    }
  }
  return out;
}

/** Creates the sink for `LocalStateMachine`'s `sns` option. Lines are appended in publish order. */
export function createSnsSink(options: SnsSinkOptions = {}): SnsPublisher {
  const file = options.jsonlFile === undefined ? DEFAULT_NOTIFICATIONS_FILE : options.jsonlFile;
  const print = options.print === undefined ? (line: string) => process.stdout.write(`${line}\n`) : options.print;
  const logError = options.logError ?? ((line: string) => process.stderr.write(`${line}\n`));
  let fileQueue: Promise<void> = Promise.resolve();

  const writeLine = (record: NotificationRecord): Promise<void> => {
    if (file === false) return Promise.resolve();
    fileQueue = fileQueue
      .then(async () => {
        await mkdir(dirname(file), { recursive: true });
        await appendFile(file, `${JSON.stringify(record)}\n`, 'utf8');
      })
      .catch((err: unknown) => logError(`notifications: cannot write ${file}: ${err instanceof Error ? err.message : String(err)}`));
    return fileQueue;
  };

  const postToSlack = async (message: SnsMessage): Promise<void> => {
    if (!options.slackWebhookUrl) return;
    const doFetch = options.fetch ?? fetch;
    try {
      const response = await doFetch(options.slackWebhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(slackPayload(message)),
        signal: AbortSignal.timeout(options.webhookTimeoutMs ?? 5000),
      });
      if (!response.ok) logError(`notifications: Slack webhook answered HTTP ${response.status}`);
    } catch (err) {
      logError(`notifications: Slack webhook failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  return async (message: SnsMessage): Promise<void> => {
    const record: NotificationRecord = {
      at: new Date().toISOString(),
      ...(message.topicArn !== undefined ? { topicArn: message.topicArn } : {}),
      ...(message.subject !== undefined ? { subject: message.subject } : {}),
      message: message.message,
    };
    if (print) {
      try {
        print(summarize(message));
      } catch (err) {
        logError(`notifications: print failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    await Promise.all([writeLine(record), postToSlack(message)]);
  };
}
