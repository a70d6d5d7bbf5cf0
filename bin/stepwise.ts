import './cli-env';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_LOCAL_PORT } from '../lib/cli/defaults';
import { databaseUrlProblem } from '../lib/cli/database-url';
import { formatError } from '../lib/cli/output';

// `stepwise history X | head -1`: the reader went away; stop quietly, as Unix tools do, instead of crashing on EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

/**
 * Commands are loaded when they run, not at start: some pull in aws-cdk-lib (the synthesized definition), which
 * would make `--help` and `status` wait for it.
 */
const lazy = {
  demo: () => require('../lib/cli/demo-command') as typeof import('../lib/cli/demo-command'),
  plan: () => require('../lib/cli/plan-command') as typeof import('../lib/cli/plan-command'),
  run: () => require('../lib/cli/run-command') as typeof import('../lib/cli/run-command'),
  operator: () => require('../lib/cli/operator') as typeof import('../lib/cli/operator'),
  pause: () => require('../lib/cli/pause-command') as typeof import('../lib/cli/pause-command'),
  rollback: () => require('../lib/cli/rollback-command') as typeof import('../lib/cli/rollback-command'),
  status: () => require('../lib/cli/status-command') as typeof import('../lib/cli/status-command'),
  explain: () => require('../lib/cli/database-url') as typeof import('../lib/cli/database-url'),
};

const write = (line: string) => process.stdout.write(`${line}\n`);
const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
};
/** `--database-url` (or DATABASE_URL) must be a Postgres URL: anything else is refused with the expected form. */
const postgresUrl = (value: string): string | undefined => {
  if (value === '') return undefined; // DATABASE_URL= (set but empty): as if unset
  const problem = databaseUrlProblem(value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
};
const databaseUrl = () => new Option('--database-url <url>', 'any Postgres ≥ 13 (default: an embedded one)').env('DATABASE_URL').argParser(postgresUrl);

/** Runs a command and exits with its code; errors print code, message and fix, and exit 1. */
const action =
  <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
  async (...args: A) => {
    try {
      process.exitCode = await fn(...args);
    } catch (err) {
      process.stderr.write(`${formatError(lazy.explain().explainCliError(err))}\n`);
      process.exitCode = 1;
    }
  };

const program = new Command('stepwise')
  .description('Zero-downtime Postgres column migrations as a durable Step Functions workflow')
  .version((require('../package.json') as { version: string }).version, '-V, --version', 'print the version of Stepwise')
  .showHelpAfterError();

program
  .command('plan')
  .description('print the runbook that will run: phases in order, the SQL of each, the locks, the rollback')
  .requiredOption('--spec <file>', 'migration spec (JSON)')
  .addOption(new Option('--database-url <url>', 'plan against the live table (its primary key and size)').env('DATABASE_URL').argParser(postgresUrl))
  .action(action((o: { spec: string; databaseUrl?: string }) => lazy.plan().planCommand(o, write)));

program
  .command('run')
  .description('run one migration through the state machine; --local runs it on the local twin')
  .requiredOption('--spec <file>', 'migration spec (JSON)')
  .option('--local', 'run on the local twin (embedded Postgres, Data API emulator, local Step Functions)')
  .addOption(databaseUrl())
  .option('--auto-approve', 'approve every gate without asking')
  .option('--soak <duration>', "override the spec's soak (ISO 8601, e.g. PT2S)")
  .option('--report <file>', 'write the run report (JSON) to this file')
  .addOption(new Option('--slack-webhook-url <url>', 'also post notifications to this Slack incoming webhook').env('STEPWISE_SLACK_WEBHOOK_URL'))
  .option('--repeat-gates', 'resuming: ask again at the gates (and serve the soak again) that the earlier run passed')
  .action(action((o) => lazy.run().runCommand(o, write)));

program
  .command('demo')
  .description("the runbook's migration end to end on the local twin, with simulated application traffic")
  .option('--rows <n>', 'rows in "Product"', positiveInt, 200_000)
  .addOption(databaseUrl())
  .option('--soak <duration>', 'soak between read-from-new and contract (ISO 8601)', 'PT2S')
  .option('--connections <n>', 'simulated application connections', positiveInt, 3)
  .option('--report <file>', 'write the run report (JSON) to this file')
  .action(action((o) => lazy.demo().demoCommand(o, write)));

for (const [name, paused, what] of [
  ['pause', true, "pause the migration's backfill at its next batch, keeping its cursor (the state table's paused flag)"],
  ['resume', false, 'resume a paused backfill from its cursor'],
] as const) {
  program
    .command(name)
    .description(what)
    .requiredOption('--spec <file>', 'migration spec (JSON)')
    .addOption(new Option('--database-url <url>', 'the Postgres of the migration, reached through the local Data API emulator').env('DATABASE_URL').argParser(postgresUrl))
    .option('--cluster-arn <arn>', 'on AWS: the Aurora cluster (with --secret-arn and --database), reached through the RDS Data API')
    .option('--secret-arn <arn>', 'on AWS: the Secrets Manager secret of the cluster')
    .option('--database <name>', 'on AWS: the database name')
    .addOption(new Option('--region <region>', 'AWS region (default: $AWS_REGION or your profile)'))
    .action(action((o) => lazy.pause().pauseCommand(paused, o, write)));
}

program
  .command('rollback')
  .description('undo a migration whose execution died, was aborted or killed: the state machine\'s own phase-aware rollback')
  .requiredOption('--spec <file>', 'migration spec (JSON)')
  .addOption(new Option('--database-url <url>', 'the Postgres of the migration, reached through the local Data API emulator').env('DATABASE_URL'))
  .option('--cluster-arn <arn>', 'on AWS: the Aurora cluster (with --secret-arn and --database), reached through the RDS Data API')
  .option('--secret-arn <arn>', 'on AWS: the Secrets Manager secret of the cluster')
  .option('--database <name>', 'on AWS: the database name')
  .addOption(new Option('--region <region>', 'AWS region (default: $AWS_REGION or your profile)'))
  .action(action((o) => lazy.rollback().rollbackCommand(o, write)));

const tuneValue = (words: readonly string[], min: number, max: number) => (value: string) => {
  if (words.includes(value)) return value;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}, or ${words.join(' or ')}`);
  return n;
};
program
  .command('tune')
  .description("change a running backfill's batch target and rate limit; applies from its next batch (the state table's live settings)")
  .requiredOption('--spec <file>', 'migration spec (JSON)')
  .option('--target-batch-ms <ms>', 'duration each adaptive batch aims at (10–10000), or spec', tuneValue(['spec'], 10, 10_000))
  .option('--max-rows-per-second <n>', 'rows per second at most, off for no limit, or spec', tuneValue(['off', 'spec'], 1, 100_000_000))
  .addOption(new Option('--database-url <url>', 'the Postgres of the migration, reached through the local Data API emulator').env('DATABASE_URL').argParser(postgresUrl))
  .option('--cluster-arn <arn>', 'on AWS: the Aurora cluster (with --secret-arn and --database), reached through the RDS Data API')
  .option('--secret-arn <arn>', 'on AWS: the Secrets Manager secret of the cluster')
  .option('--database <name>', 'on AWS: the database name')
  .addOption(new Option('--region <region>', 'AWS region (default: $AWS_REGION or your profile)'))
  .action(action((o) => lazy.pause().tuneCommand(o, write)));

// ---- the operator's commands: only through @aws-sdk/client-sfn (AWS, `stepwise local up`, LocalStack) ----
const info = (line: string) => process.stderr.write(`${line}\n`);
const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0 picks a free one)');
  return n;
};
const nonNegativeInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return n;
};
const positiveSeconds = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError('must be a number of seconds above 0, at most 3600');
  return n;
};
/** --endpoint-url, --region, --state-machine-arn on every operator command. */
const sfnOptions = (command: Command, withMachine = true) => {
  command
    .option('--endpoint-url <url>', 'Step Functions endpoint (default: $AWS_ENDPOINT_URL_SFN, $AWS_ENDPOINT_URL, else AWS)')
    .addOption(new Option('--region <region>', 'AWS region (default: $AWS_REGION or your profile; us-east-1 for a local endpoint)'));
  if (withMachine) {
    command.addOption(
      new Option('--state-machine-arn <arn>', 'the Stepwise state machine (default: the one named like "stepwise")').env('STEPWISE_STATE_MACHINE_ARN'),
    );
  }
  return command;
};

sfnOptions(
  program
    .command('start')
    .description('start a migration: checks the spec, starts an execution with it as input, prints the execution ARN')
    .requiredOption('--spec <file>', 'migration spec (JSON)')
    .option('--name <name>', 'execution name (default: <spec name>-<UTC timestamp>)')
    .option('--soak <duration>', "override the spec's soak (ISO 8601, e.g. PT2S)")
    .option('--wait', 'follow the execution until it ends (phases, gates, progress); exit 0 only if it SUCCEEDED (1 FAILED, 2 TIMED_OUT, 3 ABORTED)')
    .option('--interval <seconds>', 'seconds between polls with --wait', positiveSeconds, 5)
    .option('--resume-from <execution>', 'carry on the migration that this ended execution (killed, aborted, failed) owns, from its state row')
    .option('--repeat-gates', 'resuming: ask again at the gates (and serve the soak again) that the earlier run passed'),
).action(action((o) => lazy.operator().startCommand({ ...o, intervalSeconds: o.interval }, write, info)));

sfnOptions(
  program
    .command('follow')
    .description('stream an execution\'s phases, gates and backfill progress until it ends; exit 0 only if it SUCCEEDED (1 FAILED, 2 TIMED_OUT, 3 ABORTED)')
    .argument('<execution>', 'execution name or ARN')
    .option('--interval <seconds>', 'seconds between polls', positiveSeconds, 5),
).action(action((o) => lazy.operator().startCommand(o, write, info)));

sfnOptions(
  program
    .command('status')
    .description('where an execution is: status, phase, backfill progress, the gate waiting for approval; with --spec, where the migration is in its database and the next command')
    .argument('[execution]', 'execution name or ARN (default: the latest execution)')
    .option('--json', 'print JSON (status, waitingFor, phase, progress, phases, …)')
    .option('--spec <file>', "the migration's state row and objects in its database (with --database-url or the Aurora flags), and the command that resumes or undoes it")
    .addOption(new Option('--database-url <url>', 'with --spec: the Postgres of the migration, reached through the local Data API emulator').env('DATABASE_URL').argParser(postgresUrl))
    .option('--cluster-arn <arn>', 'with --spec, on AWS: the Aurora cluster (with --secret-arn and --database), reached through the RDS Data API')
    .option('--secret-arn <arn>', 'with --spec, on AWS: the Secrets Manager secret of the cluster')
    .option('--database <name>', 'with --spec, on AWS: the database name'),
).action(
  action((execution: string | undefined, o: { spec?: string } & Record<string, unknown>) =>
    o.spec ? lazy.status().migrationStatusCommand({ ...o, spec: o.spec }, write) : lazy.operator().statusCommand({ ...o, execution }, write),
  ),
);

sfnOptions(
  program
    .command('approve')
    .description('approve the gate the execution waits at (SendTaskSuccess)')
    .argument('<execution>', 'execution name or ARN')
    .option('--comment <text>', 'recorded with the approval'),
).action(action((execution: string, o) => lazy.operator().approveCommand({ ...o, execution }, write)));

sfnOptions(
  program
    .command('reject')
    .description('reject the gate the execution waits at (SendTaskFailure, error "Rejected"): the workflow rolls back')
    .argument('<execution>', 'execution name or ARN')
    .requiredOption('--reason <text>', 'why (recorded as the failure cause and in the notifications)'),
).action(action((execution: string, o) => lazy.operator().rejectCommand({ ...o, execution }, write)));

sfnOptions(
  program
    .command('abort')
    .description('stop an execution at once (StopExecution); no rollback runs — prefer reject at a gate')
    .argument('<execution>', 'execution name or ARN')
    .option('--reason <text>', 'recorded as the stop cause'),
).action(action((execution: string, o) => lazy.operator().abortCommand({ ...o, execution }, write)));

sfnOptions(
  program
    .command('history')
    .description("an execution's events, one per line")
    .argument('<execution>', 'execution name or ARN')
    .option('--json', 'print the events as JSON'),
).action(action((execution: string, o) => lazy.operator().historyCommand({ ...o, execution }, write)));

const local = program.command('local').description('the local twin as a service');
local
  .command('up')
  .description('serve a Step Functions-compatible endpoint in front of the local twin (embedded Postgres, Data API emulator) until Ctrl-C')
  .option('--port <n>', 'port to listen on (0: any free port)', port, DEFAULT_LOCAL_PORT)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .addOption(databaseUrl())
  .addOption(new Option('--slack-webhook-url <url>', 'also post notifications to this Slack incoming webhook').env('STEPWISE_SLACK_WEBHOOK_URL'))
  .option('--max-wait-ms <n>', 'cap every Wait state (soak, maintenance window) at n ms: demos only', nonNegativeInt)
  .option('--seed-demo <rows>', 'first create and fill the runbook\'s "Product" table with this many rows', nonNegativeInt)
  .action(action((o) => lazy.operator().localUpCommand(o, write)));

void program.parseAsync(process.argv);
