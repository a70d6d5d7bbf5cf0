/**
 * The local twin's Lambda service: each phase function runs from its deployed bundle (lib/local/deployed-artifact.ts)
 * in worker threads, one per concurrent invocation, kept warm between invocations like Lambda execution
 * environments. It keeps Lambda's contract where the twin's Step Functions side can see it:
 *
 * - a handled error becomes `errorType = err.name`, `errorMessage`, `trace` (the Node.js runtime's error document), so
 *   Retry/Catch match exactly what the minified bundle throws;
 * - a function that runs past its `Timeout`, runs out of its `MemorySize`, or crashes (process.exit, an uncaught
 *   exception) has its environment destroyed and fails the task with `Lambda.Unknown`, as Step Functions reports
 *   unhandled Lambda errors;
 * - more invocations at once than the function's reserved concurrency fail with `Lambda.TooManyRequestsException`.
 *
 * Not emulated: cold-start latency, the 6 MB synchronous payload limit (the 256 KiB state limit is smaller), the
 * runtime's own retries of asynchronous invocations, and source maps (the stack sets `--enable-source-maps`; here
 * traces point into the minified bundle, because parsing the 4 MB maps doubles a cold start).
 */
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { Context } from 'aws-lambda';
import type { Phase } from '../constants';
import type { DeployedArtifact, PhaseBundle } from './deployed-artifact';
import { TaskFailure, type LambdaHandler } from './step-functions';

/** Code each worker runs: load the bundle once, then answer invocations (plain JS: no TypeScript loader needed). */
const BOOTSTRAP = `
const { parentPort, workerData } = require('node:worker_threads');
const mod = require(workerData.file);
const handler = mod[workerData.handlerName];
parentPort.on('message', async (msg) => {
  for (const [k, v] of Object.entries(msg.env)) process.env[k] = v;
  const context = {
    ...msg.context,
    getRemainingTimeInMillis: () => Math.max(0, msg.deadline - Date.now()),
    done() { throw new Error('Callback-style completion is not supported'); },
    fail() { throw new Error('Callback-style completion is not supported'); },
    succeed() { throw new Error('Callback-style completion is not supported'); },
  };
  try {
    if (typeof handler !== 'function') throw Object.assign(new Error('index.' + workerData.handlerName + ' is undefined or not exported'), { name: 'Runtime.HandlerNotFound' });
    const result = await handler(msg.event, context);
    parentPort.postMessage({ id: msg.id, ok: true, payload: result === undefined ? 'null' : JSON.stringify(result) });
  } catch (err) {
    const isError = err instanceof Error;
    parentPort.postMessage({
      id: msg.id,
      ok: false,
      errorType: isError ? err.name || 'Error' : typeof err,
      errorMessage: isError ? err.message : String(err),
      trace: isError && typeof err.stack === 'string' ? err.stack.split('\\n') : [],
    });
  }
});
`;

interface WorkerAnswer {
  readonly id: string;
  readonly ok: boolean;
  readonly payload?: string;
  readonly errorType?: string;
  readonly errorMessage?: string;
  readonly trace?: string[];
}

/** The error a handled failure is rethrown as: `name` = `errorType`, `stack` = the bundle's trace. */
class HandledFunctionError extends Error {
  constructor(answer: WorkerAnswer) {
    super(answer.errorMessage ?? '');
    this.name = answer.errorType ?? 'Error';
    this.stack = (answer.trace ?? []).join('\n');
  }
}

/** `Lambda.Unknown`: Lambda returned no error type (timeout, out of memory, crash). */
function unknownFailure(requestId: string, what: string): TaskFailure {
  const payload = JSON.stringify({ errorMessage: `${new Date().toISOString()} ${requestId} ${what}` });
  return new TaskFailure('Lambda.Unknown', `The cause could not be determined because Lambda did not return an error type. Returned payload: ${payload}`);
}

/** An environment idle this long is reclaimed (Lambda reclaims idle environments too, after minutes). */
export const IDLE_ENVIRONMENT_MS = 15_000;

/** One function's execution environments. */
class BundledFunction {
  private readonly idle: Worker[] = [];
  private readonly all = new Set<Worker>();
  private readonly reclaim = new Map<Worker, NodeJS.Timeout>();
  private running = 0;
  private closed = false;

  constructor(
    private readonly bundle: PhaseBundle,
    private readonly overrides: FunctionOverrides,
  ) {}

  /** Settings in force: the stack's, or a test's override. */
  private get timeoutSeconds(): number {
    return this.overrides.timeoutSeconds ?? this.bundle.timeoutSeconds;
  }
  private get reservedConcurrency(): number | undefined {
    return this.overrides.reservedConcurrency ?? this.bundle.reservedConcurrency;
  }

  readonly invoke: LambdaHandler = async (event: unknown, context: Context) => {
    if (this.closed) throw new TaskFailure('Lambda.ServiceException', 'The local Lambda service has stopped');
    const reserved = this.reservedConcurrency;
    if (reserved !== undefined && this.running >= reserved) {
      throw new TaskFailure('Lambda.TooManyRequestsException', `Rate Exceeded. (Service: Lambda, Status Code: 429, Request ID: ${randomUUID()}) ${this.bundle.phase}: reserved concurrency ${reserved}`);
    }
    this.running += 1;
    try {
      return await this.run(event, context);
    } finally {
      this.running -= 1;
    }
  };

  /** Keeps a warm environment for the next invocation, until it has been idle for `IDLE_ENVIRONMENT_MS`. */
  private park(worker: Worker): void {
    worker.unref();
    this.idle.push(worker);
    const timer = setTimeout(() => this.idle.includes(worker) && this.destroy(worker), IDLE_ENVIRONMENT_MS);
    timer.unref();
    this.reclaim.set(worker, timer);
  }

  private take(): Worker {
    const worker = this.idle.pop();
    if (!worker) return this.spawn();
    clearTimeout(this.reclaim.get(worker));
    this.reclaim.delete(worker);
    return worker;
  }

  private run(event: unknown, context: Context): Promise<unknown> {
    const worker = this.take();
    const requestId = context?.awsRequestId ?? randomUUID();
    const timeoutMs = this.timeoutSeconds * 1000;
    return new Promise((resolve, reject) => {
      const id = randomUUID();
      const finish = (keep: boolean, settle: () => void): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (keep && !this.closed) this.park(worker);
        else this.destroy(worker);
        settle();
      };
      const onMessage = (answer: WorkerAnswer): void => {
        if (answer.id !== id) return;
        if (answer.ok) finish(true, () => resolve(JSON.parse(answer.payload ?? 'null') as unknown));
        else finish(true, () => reject(new HandledFunctionError(answer)));
      };
      const onError = (err: Error): void => {
        const code = (err as { code?: string }).code;
        const what = code === 'ERR_WORKER_OUT_OF_MEMORY' ? `Runtime exited with error: signal: killed (out of memory: ${this.bundle.memoryMb} MB)` : `Runtime exited with error: ${err.name}: ${err.message}`;
        finish(false, () => reject(unknownFailure(requestId, what)));
      };
      const onExit = (code: number): void => finish(false, () => reject(unknownFailure(requestId, `Runtime exited with error: exit status ${code}`)));
      const timer = setTimeout(
        () => finish(false, () => reject(unknownFailure(requestId, `Task timed out after ${this.timeoutSeconds.toFixed(2)} seconds`))),
        timeoutMs,
      );
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.ref();
      const { getRemainingTimeInMillis: _r, done: _d, fail: _f, succeed: _s, ...plainContext } = context ?? ({} as Context);
      worker.postMessage({
        id,
        event,
        env: this.environment(),
        deadline: Date.now() + timeoutMs,
        context: { ...plainContext, awsRequestId: requestId, memoryLimitInMB: String(this.bundle.memoryMb) },
      });
    });
  }

  /** The stack's variables, then the twin's (the Data API endpoint, the test database, quiet logs) on top. */
  private environment(): Record<string, string> {
    const env: Record<string, string> = { ...this.bundle.environment };
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'NODE_OPTIONS') env[k] = v;
    return env;
  }

  private spawn(): Worker {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: { file: this.bundle.file, handlerName: this.bundle.handlerName },
      // Module scope (the Powertools logger, the SDK client) reads the environment when the bundle loads.
      env: this.environment(),
      // Lambda's MemorySize bounds the whole sandbox; the heap limit is the closest a thread gets.
      resourceLimits: { maxOldGenerationSizeMb: this.bundle.memoryMb },
      stdout: false,
      stderr: false,
    });
    this.all.add(worker);
    // An environment that dies while idle is never handed out again.
    worker.once('exit', () => this.forget(worker));
    return worker;
  }

  /** Drops an environment from the pool (its reclaim timer, the idle list, the set of all). */
  private forget(worker: Worker): void {
    clearTimeout(this.reclaim.get(worker));
    this.reclaim.delete(worker);
    this.all.delete(worker);
    const at = this.idle.indexOf(worker);
    if (at >= 0) this.idle.splice(at, 1);
  }

  private destroy(worker: Worker): void {
    this.forget(worker);
    void worker.terminate();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.reclaim.values()) clearTimeout(timer);
    this.reclaim.clear();
    const workers = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** A test's changes to one function's configuration (as `aws lambda update-function-configuration` would make). */
export interface FunctionOverrides {
  readonly timeoutSeconds?: number;
  readonly reservedConcurrency?: number;
}

/** The phase functions of a deployed artifact, ready for `LocalStateMachine`'s `lambdas`. */
export interface BundledLambdas {
  readonly handlers: Readonly<Record<Phase, LambdaHandler>>;
  /** Ends every execution environment (running invocations fail with `Lambda.Unknown`). */
  close(): Promise<void>;
}

/**
 * Starts the local Lambda service for the artifact's phase functions. Environments start on first invocation.
 *
 * @example
 * const lambdas = bundledLambdas(loadDeployedArtifact());
 * new LocalStateMachine({ definition, lambdas: lambdas.handlers, … });
 * await lambdas.close();
 */
export function bundledLambdas(artifact: DeployedArtifact, overrides: Partial<Record<Phase, FunctionOverrides>> = {}): BundledLambdas {
  const functions = Object.values(artifact.bundles).map((bundle) => ({ phase: bundle.phase, fn: new BundledFunction(bundle, overrides[bundle.phase] ?? {}) }));
  const handlers = Object.fromEntries(functions.map(({ phase, fn }) => [phase, fn.invoke])) as Record<Phase, LambdaHandler>;
  return { handlers, close: async () => void (await Promise.all(functions.map(({ fn }) => fn.close()))) };
}
