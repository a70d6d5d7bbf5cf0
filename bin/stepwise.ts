import './cli-env';
import { Command, InvalidArgumentError, Option } from 'commander';
import { demoCommand } from '../lib/cli/demo-command';
import { formatError } from '../lib/cli/output';
import { planCommand } from '../lib/cli/plan-command';
import { runCommand } from '../lib/cli/run-command';

const write = (line: string) => process.stdout.write(`${line}\n`);
const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
};
const databaseUrl = () => new Option('--database-url <url>', 'any Postgres ≥ 13 (default: an embedded one)').env('DATABASE_URL');

/** Runs a command and exits with its code; errors print code, message and fix, and exit 1. */
const action =
  <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
  async (...args: A) => {
    try {
      process.exitCode = await fn(...args);
    } catch (err) {
      process.stderr.write(`${formatError(err)}\n`);
      process.exitCode = 1;
    }
  };

const program = new Command('stepwise')
  .description('Zero-downtime Postgres column migrations as a durable Step Functions workflow')
  .showHelpAfterError();

program
  .command('plan')
  .description('print the runbook that will run: phases in order, the SQL of each, the locks, the rollback')
  .requiredOption('--spec <file>', 'migration spec (JSON)')
  .addOption(new Option('--database-url <url>', 'plan against the live table (its primary key and size)').env('DATABASE_URL'))
  .action(action((o: { spec: string; databaseUrl?: string }) => planCommand(o, write)));

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
  .action(action((o) => runCommand(o, write)));

program
  .command('demo')
  .description("the runbook's migration end to end on the local twin, with simulated application traffic")
  .option('--rows <n>', 'rows in "Product"', positiveInt, 200_000)
  .addOption(databaseUrl())
  .option('--soak <duration>', 'soak between read-from-new and contract (ISO 8601)', 'PT2S')
  .option('--connections <n>', 'simulated application connections', positiveInt, 3)
  .option('--report <file>', 'write the run report (JSON) to this file')
  .action(action((o) => demoCommand(o, write)));

void program.parseAsync(process.argv);
