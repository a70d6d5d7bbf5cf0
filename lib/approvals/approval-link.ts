/**
 * Approvals from Slack (or email): the approval notification carries a link to the approval-link Lambda (a Function
 * URL). The link holds the gate's task token, which is the capability (Step Functions accepts an answer only with it,
 * and only while the gate waits); the same token is already in the notification's metadata. Opening the link changes
 * nothing (Slack and mail clients prefetch links): it shows the gate and a form. Submitting the form with the
 * approver's name answers the gate through Step Functions: SendTaskSuccess `{approved, approver, comment, via}`, or
 * SendTaskFailure `Rejected` with the reason and the approver, so the decision and who made it are in the execution
 * history. The name is what the approver typed: a Function URL without IAM auth cannot prove who clicked.
 */
import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { REJECTED_ERROR } from '../constants';

/** The error a rejection fails the gate with (the workflow's Catch routes it to rollback; same as `stepwise reject`). */
export const LINK_REJECTED_ERROR = REJECTED_ERROR;
/** Recorded as `via` in the approval output. */
export const APPROVAL_LINK_VIA = 'approval-link';
const MAX_FIELD = 500;

/** The part of a Lambda Function URL event (payload 2.0) the handler reads. */
export interface FunctionUrlEvent {
  readonly rawQueryString?: string;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly requestContext?: { readonly http?: { readonly method?: string } };
}

export interface FunctionUrlResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** What the link names: the execution and gate (shown) and the task token (the capability). */
export interface ApprovalLink {
  readonly execution: string;
  readonly gate: string;
  readonly token: string;
}

/** A decision read from the submitted form. */
export interface LinkDecision {
  readonly approved: boolean;
  readonly approver: string;
  readonly comment: string;
}

/**
 * Reads `execution`, `gate` and `token` from the raw query string. The token is inserted into the link unencoded by
 * `States.Format` and may contain `+` and `/`: it is taken as written (no `+` → space), percent-decoded only if encoded.
 */
export function parseLink(rawQueryString: string | undefined): ApprovalLink | undefined {
  const params = new Map<string, string>();
  for (const pair of (rawQueryString ?? '').split('&')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const raw = pair.slice(at + 1);
    let value = raw;
    try {
      value = raw.includes('%') ? decodeURIComponent(raw) : raw;
    } catch {
      value = raw;
    }
    params.set(pair.slice(0, at), value);
  }
  const execution = params.get('execution');
  const gate = params.get('gate');
  const token = params.get('token');
  if (!execution || !gate || !token) return undefined;
  return { execution, gate, token };
}

/** Reads the form (`application/x-www-form-urlencoded`): decision, approver, comment. Errors name the missing field. */
export function parseDecision(body: string): LinkDecision | { readonly problem: string } {
  const form = new URLSearchParams(body);
  const decision = form.get('decision');
  const approver = (form.get('approver') ?? '').trim();
  const comment = (form.get('comment') ?? '').trim();
  if (decision !== 'approve' && decision !== 'reject') return { problem: 'Choose Approve or Reject.' };
  if (approver === '') return { problem: 'Type your name: it is recorded with the decision in the execution history.' };
  if (approver.length > MAX_FIELD || comment.length > MAX_FIELD) return { problem: `Name and comment may have at most ${MAX_FIELD} characters.` };
  if (decision === 'reject' && comment === '') return { problem: 'Give a reason for the rejection: it is recorded as the failure cause and in the notifications.' };
  return { approved: decision === 'approve', approver, comment };
}

/** The output a link approval sends (`$.approvals.<gate>` in the workflow); the shape of `stepwise approve` plus who. */
export function approvalOutput(decision: LinkDecision, at: Date): string {
  return JSON.stringify({ approved: true, comment: decision.comment || null, approver: decision.approver, via: APPROVAL_LINK_VIA, at: at.toISOString() });
}

/** The failure cause of a link rejection: the reason, then who rejected. */
export function rejectionCause(decision: LinkDecision): string {
  return `${decision.comment} (rejected by ${decision.approver} through the approval link)`;
}

/**
 * The approval-link handler: GET shows the gate and the form (changes nothing), POST answers the gate. Bad input gets
 * a 400 page naming the problem and changes nothing; a gate that no longer waits gets 410.
 */
export async function handleApprovalLink(event: FunctionUrlEvent, client: SFNClient, now: () => Date = () => new Date()): Promise<FunctionUrlResult> {
  const link = parseLink(event.rawQueryString);
  if (!link) return page(400, 'Not an approval link', '<p>This link lacks the execution, the gate or the task token. Open the link from the approval notification as it was sent.</p>');
  const method = event.requestContext?.http?.method ?? 'GET';
  if (method === 'GET' || method === 'HEAD') return page(200, `Approval needed: ${link.gate}`, confirmForm(link, event.rawQueryString ?? ''));
  if (method !== 'POST') return page(405, 'Method not allowed', '<p>Use the form.</p>');
  const body = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
  const decision = parseDecision(body);
  if ('problem' in decision) return page(400, 'Nothing was sent', `<p>${esc(decision.problem)} The gate still waits.</p>${confirmForm(link, event.rawQueryString ?? '')}`);
  try {
    if (decision.approved) {
      await client.send(new SendTaskSuccessCommand({ taskToken: link.token, output: approvalOutput(decision, now()) }));
    } else {
      await client.send(new SendTaskFailureCommand({ taskToken: link.token, error: LINK_REJECTED_ERROR, cause: rejectionCause(decision) }));
    }
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'TaskDoesNotExist' || name === 'TaskTimedOut' || name === 'InvalidToken') {
      return page(410, 'This gate no longer waits', `<p>${esc(link.gate)} of ${esc(link.execution)} was answered already or timed out (${esc(name)}). Nothing was sent. See <code>stepwise status ${esc(shortName(link.execution))}</code>.</p>`);
    }
    return page(502, 'Step Functions refused the answer', `<p>${esc(name)}: ${esc((err as Error).message)}. Nothing was recorded; try again or use <code>stepwise approve</code>.</p>`);
  }
  return decision.approved
    ? page(200, `Approved ${link.gate}`, `<p>Approved ${esc(link.gate)} of ${esc(link.execution)} as ${esc(decision.approver)}: the migration continues.</p>`)
    : page(200, `Rejected ${link.gate}`, `<p>Rejected ${esc(link.gate)} of ${esc(link.execution)} as ${esc(decision.approver)}: the workflow rolls back.</p>`);
}

function shortName(execution: string): string {
  return execution.split(':').pop() ?? execution;
}

function confirmForm(link: ApprovalLink, rawQueryString: string): string {
  return (
    `<p>Migration execution <code>${esc(link.execution)}</code> waits at <b>${esc(link.gate)}</b>. Read the notification's checklist first.</p>` +
    `<form method="post" action="?${esc(rawQueryString)}">` +
    '<p><label>Your name (recorded in the execution history) <input name="approver" required maxlength="500"></label></p>' +
    '<p><label>Comment (the reason, to reject) <input name="comment" maxlength="500"></label></p>' +
    '<p><button name="decision" value="approve">Approve</button> <button name="decision" value="reject">Reject (rolls back)</button></p>' +
    '</form>'
  );
}

function page(statusCode: number, title: string, html: string): FunctionUrlResult {
  return {
    statusCode,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-robots-tag': 'noindex',
      'content-security-policy': "default-src 'none'; form-action 'self'",
    },
    body: `<!doctype html><html><head><meta charset="utf-8"><title>Stepwise: ${esc(title)}</title></head><body><h1>${esc(title)}</h1>${html}</body></html>`,
  };
}

/** HTML-escapes text and attribute values. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
