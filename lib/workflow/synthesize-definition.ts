import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { ENV, type Phase } from '../constants';
import { StepwiseStack } from '../stack';

/** Options of {@link synthesizeDefinition}. */
export interface SynthesizeDefinitionOptions {
  /**
   * Folder with the handler entry files (they must exist; they are not bundled).
   * @default - the repository's `lambdas/`
   */
  readonly lambdaEntryDir?: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly account?: string;
  /** Extra CDK context (feature flags are read from the repository's cdk.json). @default {} */
  readonly context?: Readonly<Record<string, unknown>>;
  /**
   * What a Lambda Function URL (the approval link, with context `approvalLinks: true`) resolves to: the local server
   * that runs the approval-link handler. @default 'http://127.0.0.1/stepwise-approval-link/'
   */
  readonly approvalLinkUrl?: string;
}

/** The definition as the local twin runs it. */
export interface SynthesizedDefinition {
  /** Amazon States Language, every token resolved to a plain local string. */
  readonly definition: Record<string, unknown>;
  /** Phase of each Lambda function, by CloudFormation logical ID (read from its STEPWISE_PHASE variable). */
  readonly functions: Record<string, Phase>;
  /** Local ARN of each phase function, by phase (what a Lambda task's `Resource` holds). */
  readonly functionArns: Record<Phase, string>;
  /** Local ARN of the notification topic. */
  readonly topicArn: string;
  /** How long synthesis and resolution took, in milliseconds. */
  readonly durationMs: number;
}

export type CfnValue = string | number | boolean | null | CfnValue[] | { [key: string]: CfnValue };
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: { readonly Environment?: { readonly Variables?: Record<string, CfnValue> } } & Record<string, CfnValue>;
  readonly Metadata?: Record<string, CfnValue>;
}

/** Local stand-ins for the ARNs the stack needs; they never leave this machine. */
export const LOCAL_TARGET = {
  clusterArn: 'arn:aws:rds:us-east-1:000000000000:cluster:stepwise-local',
  secretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:stepwise-local-AbCdEf',
  database: 'postgres',
} as const;

const REPO_ROOT = path.join(__dirname, '..', '..');

/**
 * Synthesizes the same `StepwiseStack` that deploys to AWS (without bundling the Lambdas, so it takes about a
 * second or two) and returns its state machine definition with every CloudFormation token resolved to a local ARN:
 * Lambda functions become `arn:aws:lambda:<region>:<account>:function:<phase>`, the topic
 * `arn:aws:sns:<region>:<account>:stepwise-local`, pseudo parameters their local values.
 *
 * @example
 * const { definition } = synthesizeDefinition();
 * new StateMachine(definition); // aws-local-stepfunctions
 */
export function synthesizeDefinition(options: SynthesizeDefinitionOptions = {}): SynthesizedDefinition {
  const started = performance.now();
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepwise-synth-'));
  try {
    const synthesized = synthesizeStack({ ...options, outdir, bundle: false });
    return { ...resolveDefinition(synthesized, options), durationMs: Math.round(performance.now() - started) };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** Options of {@link synthesizeStack}. */
export interface SynthesizeStackOptions extends SynthesizeDefinitionOptions {
  /** The cloud assembly's folder (kept: the caller owns it). */
  readonly outdir: string;
  /** Bundle the phase functions with esbuild, as `cdk synth` does (several seconds); false skips bundling. */
  readonly bundle: boolean;
}

/** A synthesized `StepwiseStack`: its template and where the assembly is. */
export interface SynthesizedStack {
  readonly template: { Resources: Record<string, CfnResource> };
  readonly stackName: string;
  readonly region: string;
  readonly account: string;
  /** The cloud assembly folder (`asset.<hash>/` folders hold the bundles when `bundle` was set). */
  readonly outdir: string;
}

/**
 * Synthesizes the same `StepwiseStack` that deploys to AWS, aimed at the local stand-in ARNs (`LOCAL_TARGET`), with
 * or without bundling the phase functions.
 */
export function synthesizeStack(options: SynthesizeStackOptions): SynthesizedStack {
  const region = options.region ?? 'us-east-1';
  const account = options.account ?? '000000000000';
  const app = new App({
    outdir: options.outdir,
    // The built-in CloudFormation rules (a WebAssembly engine, ~3-6 s on first use) run on every real `cdk synth`.
    builtinCloudFormationValidation: false,
    context: { ...cdkJsonContext(), ...options.context, ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
  });
  const stack = new StepwiseStack(app, 'StepwiseLocal', { ...LOCAL_TARGET, lambdaEntryDir: options.lambdaEntryDir });
  const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, CfnResource> };
  return { template, stackName: stack.stackName, region, account, outdir: options.outdir };
}

/** The phase of each Lambda function of a template, by logical ID (read from its STEPWISE_PHASE variable). */
export function phaseFunctionsOf(template: SynthesizedStack['template']): Record<string, Phase> {
  const functions: Record<string, Phase> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    const phase = resource.Type === 'AWS::Lambda::Function' ? resource.Properties?.Environment?.Variables?.[ENV.phase] : undefined;
    if (typeof phase === 'string') functions[id] = phase as Phase;
  }
  return functions;
}

/** The state machine definition of a synthesized stack, every token resolved to a plain local string. */
export function resolveDefinition(
  synthesized: SynthesizedStack,
  options: Pick<SynthesizeDefinitionOptions, 'approvalLinkUrl'> = {},
): Omit<SynthesizedDefinition, 'durationMs'> {
  const { template, region, account, stackName } = synthesized;
  const resources = template.Resources;
  const functions = phaseFunctionsOf(template);
  const topics = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::SNS::Topic');
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': region,
    'AWS::AccountId': account,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': stackName,
    'AWS::NoValue': '',
  };
  const arnOf = (id: string, attribute: string): string => {
    if (pseudo[id] !== undefined) return pseudo[id];
    const resource = resources[id];
    if (resource === undefined) throw new Error(`synthesizeDefinition: the definition refers to unknown resource ${id}.`);
    if (functions[id] !== undefined) return `arn:aws:lambda:${region}:${account}:function:${functions[id]}`;
    if (resource.Type === 'AWS::Lambda::Url' && attribute === 'FunctionUrl') return options.approvalLinkUrl ?? 'http://127.0.0.1/stepwise-approval-link/';
    if (resource.Type === 'AWS::SNS::Topic') {
      return `arn:aws:sns:${region}:${account}:stepwise-local${topics.length > 1 ? `-${id}` : ''}`;
    }
    const [, service = 'unknown', kind = 'resource'] = resource.Type.split('::');
    return `arn:aws:${service.toLowerCase()}:${region}:${account}:${kind.toLowerCase()}/${id}${attribute === 'Ref' || attribute === 'Arn' ? '' : `/${attribute}`}`;
  };

  const machine = Object.values(resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  const definitionString = machine?.Properties?.['DefinitionString'];
  if (definitionString === undefined) throw new Error('synthesizeDefinition: no AWS::StepFunctions::StateMachine DefinitionString in the template.');
  const definition = JSON.parse(resolveToString(definitionString, arnOf)) as Record<string, unknown>;

  const functionArns = Object.fromEntries(Object.keys(functions).map((id) => [functions[id], arnOf(id, 'Arn')])) as Record<Phase, string>;
  const topicArn = topics[0] === undefined ? '' : arnOf(topics[0][0], 'Ref');
  return { definition, functions, functionArns, topicArn };
}

/** Resolves `Fn::Join`, `Ref`, `Fn::GetAtt`, `Fn::Sub` and `Fn::Select` to a string. */
function resolveToString(value: CfnValue, arnOf: (id: string, attribute: string) => string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || Array.isArray(value)) throw new Error(`synthesizeDefinition: cannot resolve ${JSON.stringify(value)}.`);
  const [fn, args] = Object.entries(value)[0] ?? [];
  const recurse = (v: CfnValue): string => resolveToString(v, arnOf);
  switch (fn) {
    case 'Fn::Join': {
      const [separator, parts] = args as [string, CfnValue[]];
      return parts.map(recurse).join(separator);
    }
    case 'Ref':
      return arnOf(args as string, 'Ref');
    case 'Fn::GetAtt': {
      const [id, attribute] = typeof args === 'string' ? (args.split('.') as [string, string]) : (args as [string, string]);
      return arnOf(id, attribute);
    }
    case 'Fn::Sub': {
      const [template, variables = {}] = typeof args === 'string' ? [args, {}] : (args as [string, Record<string, CfnValue>]);
      return template.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
        if (variables[name] !== undefined) return recurse(variables[name]);
        const [id, attribute] = name.split('.') as [string, string | undefined];
        return arnOf(id, attribute ?? 'Ref');
      });
    }
    case 'Fn::Select': {
      const [index, list] = args as [number, CfnValue[]];
      return recurse(list[Number(index)] ?? '');
    }
    default:
      throw new Error(`synthesizeDefinition: unsupported intrinsic ${fn ?? '(empty object)'} in the definition.`);
  }
}

/** Feature flags from the repository's cdk.json, so the local definition matches `cdk synth`. */
function cdkJsonContext(): Record<string, unknown> {
  const file = path.join(REPO_ROOT, 'cdk.json');
  if (!fs.existsSync(file)) return {};
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { context?: Record<string, unknown> };
  return json.context ?? {};
}
