import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Context } from 'aws-lambda';
import { bundledLambdas, type BundledLambdas } from '../../lib/local/bundled-lambdas';
import type { DeployedArtifact, PhaseBundle } from '../../lib/local/deployed-artifact';
import { Phase } from '../../lib/constants';
import { lambdaFailure, TaskFailure } from '../../lib/local/step-functions';

// A function of our own, written as a bundle is (CommonJS, `index.handler`), so each Lambda behaviour can be provoked.
const HANDLER = `
class LockTimeoutError extends Error { constructor(m) { super(m); this.name = 'LockTimeoutError'; } }
let invocations = 0;
exports.handler = async (event, context) => {
  invocations += 1;
  switch (event.do) {
    case 'echo': return { event, invocations, env: process.env.STEPWISE_PHASE, extra: process.env.TWIN_EXTRA, remaining: context.getRemainingTimeInMillis(), request: context.awsRequestId };
    case 'throw': throw new LockTimeoutError('could not obtain lock on relation "Product"');
    case 'throw-string': throw 'plain string';
    case 'sleep': await new Promise((r) => setTimeout(r, event.ms)); return { slept: event.ms };
    case 'exit': process.exit(3);
    case 'oom': { const keep = []; for (;;) keep.push(new Array(1e6).fill(Math.random())); }
  }
  return null;
};
`;

const context = { awsRequestId: 'req-1' } as Context;

function artifactWith(dir: string, overrides: Partial<PhaseBundle> = {}): DeployedArtifact {
  const file = path.join(dir, 'index.js');
  fs.writeFileSync(file, HANDLER);
  const bundle: PhaseBundle = { phase: Phase.Window, file, handlerName: 'handler', timeoutSeconds: 2, memoryMb: 64, environment: { STEPWISE_PHASE: 'window' }, ...overrides };
  return { key: 'test', dir, definition: {}, bundles: { [Phase.Window]: bundle } as DeployedArtifact['bundles'] };
}

async function failureOf(promise: Promise<unknown>): Promise<TaskFailure> {
  try {
    await promise;
  } catch (err) {
    // What Step Functions sees: the twin's invokeLambda turns a handled error into Lambda's error document.
    return err instanceof TaskFailure ? err : lambdaFailure(err);
  }
  throw new Error('expected the invocation to fail');
}

describe('bundledLambdas: the twin runs a function as Lambda does', () => {
  let dir: string;
  let service: BundledLambdas | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepwise-bundle-test-'));
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the bundle with the stack environment and the twin on top, keeps the environment warm, counts down the timeout', async () => {
    service = bundledLambdas(artifactWith(dir));
    process.env.TWIN_EXTRA = 'from the twin';
    try {
      const first = (await service.handlers[Phase.Window]({ do: 'echo' }, context)) as Record<string, unknown>;
      const second = (await service.handlers[Phase.Window]({ do: 'echo' }, context)) as Record<string, unknown>;
      expect(first).toMatchObject({ event: { do: 'echo' }, invocations: 1, env: 'window', extra: 'from the twin', request: 'req-1' });
      expect(second.invocations).toBe(2); // the same environment, like a warm Lambda
      expect(first.remaining).toBeGreaterThan(0);
      expect(first.remaining).toBeLessThanOrEqual(2000);
    } finally {
      delete process.env.TWIN_EXTRA;
    }
  });

  it('reports a handled error as Lambda does: errorType is err.name, errorMessage its message', async () => {
    service = bundledLambdas(artifactWith(dir));
    const failure = await failureOf(Promise.resolve(service.handlers[Phase.Window]({ do: 'throw' }, context)));
    expect(failure.name).toBe('LockTimeoutError');
    expect(JSON.parse(failure.message)).toMatchObject({ errorType: 'LockTimeoutError', errorMessage: 'could not obtain lock on relation "Product"' });
  });

  it('fails with Lambda.Unknown when the function runs past its timeout, and the next invocation gets a fresh environment', async () => {
    service = bundledLambdas(artifactWith(dir, { timeoutSeconds: 1 }));
    const failure = await failureOf(Promise.resolve(service.handlers[Phase.Window]({ do: 'sleep', ms: 5000 }, context)));
    expect(failure.name).toBe('Lambda.Unknown');
    expect(failure.message).toMatch(/Task timed out after 1\.00 seconds/);
    const next = (await service.handlers[Phase.Window]({ do: 'echo' }, context)) as Record<string, unknown>;
    expect(next.invocations).toBe(1);
  });

  it('fails with Lambda.Unknown when the function crashes (process.exit) or runs out of memory', async () => {
    service = bundledLambdas(artifactWith(dir, { timeoutSeconds: 20 }));
    const exited = await failureOf(Promise.resolve(service.handlers[Phase.Window]({ do: 'exit' }, context)));
    expect(exited.name).toBe('Lambda.Unknown');
    expect(exited.message).toMatch(/exit status 3/);
    const oom = await failureOf(Promise.resolve(service.handlers[Phase.Window]({ do: 'oom' }, context)));
    expect(oom.name).toBe('Lambda.Unknown');
    expect(oom.message).toMatch(/out of memory|Runtime exited/);
  });

  it('refuses an invocation beyond the reserved concurrency with Lambda.TooManyRequestsException', async () => {
    service = bundledLambdas(artifactWith(dir, { reservedConcurrency: 1, timeoutSeconds: 10 }));
    const handler = service.handlers[Phase.Window];
    const running = Promise.resolve(handler({ do: 'sleep', ms: 500 }, context));
    const refused = await failureOf(Promise.resolve(handler({ do: 'echo' }, context)));
    expect(refused.name).toBe('Lambda.TooManyRequestsException');
    await expect(running).resolves.toEqual({ slept: 500 });
    // Once the first is done, the function takes the next one.
    await expect(Promise.resolve(handler({ do: 'echo' }, context))).resolves.toMatchObject({ env: 'window' });
  });

  it('reports a thrown non-Error with its type, as the Node.js runtime does', async () => {
    service = bundledLambdas(artifactWith(dir));
    const failure = await failureOf(Promise.resolve(service.handlers[Phase.Window]({ do: 'throw-string' }, context)));
    expect(failure.name).toBe('string');
  });
});
