import { SFNClient } from '@aws-sdk/client-sfn';
import { handleApprovalLink, type FunctionUrlEvent } from '../lib/approvals/approval-link';

/** The approval-link Lambda behind a Function URL; all logic lives in lib/approvals. */
const client = new SFNClient({});
export const handler = (event: FunctionUrlEvent) => handleApprovalLink(event, client);
