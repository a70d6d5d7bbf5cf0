/**
 * What `cdk deploy` ships, as the local twin runs it: the `StepwiseStack` synthesized WITH bundling (the same
 * `NodejsFunction` entries and esbuild options, `PHASE_BUNDLING`), its state machine definition with tokens resolved
 * to local ARNs, and each phase function's bundle with the settings Lambda would run it with (timeout, memory,
 * reserved concurrency, environment).
 *
 * Bundling takes ~10 s, so the artifact is cached under `node_modules/.cache/stepwise/artifacts/<key>/`, keyed by a
 * hash of everything that goes into it (the sources under lib/ and lambdas/, package-lock.json, cdk.json,
 * tsconfig.json). A changed source file gives a new key, so a stale bundle is never run. Builds are atomic (a
 * temporary folder renamed into place), so concurrent processes (jest workers, a demo beside the tests) never see a
 * half-written artifact.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Phase } from '../constants';
import { phaseFunctionsOf, resolveDefinition, synthesizeStack, type CfnValue } from '../workflow/synthesize-definition';

/** The repository root (package.json, package-lock.json, lib/, lambdas/). */
const REPO_ROOT = path.join(__dirname, '..', '..');

/** Where artifacts are cached, by key. */
export const ARTIFACT_CACHE_DIR = path.join(REPO_ROOT, 'node_modules', '.cache', 'stepwise', 'artifacts');

/** Bumped when the layout of a cached artifact changes. */
const ARTIFACT_FORMAT = 1;

/** One phase function as deployed. */
export interface PhaseBundle {
  readonly phase: Phase;
  /** The bundle's entry file (`index.js`, its source map beside it). */
  readonly file: string;
  /** The exported handler's name (`Handler` is `index.<name>`). */
  readonly handlerName: string;
  /** The function's timeout (`Timeout`), in seconds. */
  readonly timeoutSeconds: number;
  /** `MemorySize`, in MiB. */
  readonly memoryMb: number;
  /** `ReservedConcurrentExecutions`, when the stack reserves any. */
  readonly reservedConcurrency?: number;
  /** The function's environment variables as the stack sets them. */
  readonly environment: Readonly<Record<string, string>>;
}

/** The deployed artifact of the default local stack. */
export interface DeployedArtifact {
  /** The cache key (a hash of the inputs). */
  readonly key: string;
  /** The folder holding it. */
  readonly dir: string;
  /** The state machine definition, tokens resolved to local ARNs. */
  readonly definition: Record<string, unknown>;
  readonly bundles: Readonly<Record<Phase, PhaseBundle>>;
}

interface StoredArtifact {
  readonly format: number;
  readonly definition: Record<string, unknown>;
  readonly bundles: Record<Phase, Omit<PhaseBundle, 'file'> & { readonly file: string }>;
}

const loaded = new Map<string, DeployedArtifact>();

/**
 * The deployed artifact, from the cache or built now (synth with bundling, ~10 s). Memoized per process.
 *
 * @example
 * const { definition, bundles } = loadDeployedArtifact();
 * bundles.expand.file; // …/node_modules/.cache/stepwise/artifacts/<key>/expand/index.js
 */
export function loadDeployedArtifact(options: { readonly cacheDir?: string; readonly onBuild?: () => void } = {}): DeployedArtifact {
  const cacheDir = options.cacheDir ?? ARTIFACT_CACHE_DIR;
  const key = artifactKey();
  const dir = path.join(cacheDir, key);
  const memo = loaded.get(dir);
  if (memo) return memo;
  if (!fs.existsSync(path.join(dir, 'artifact.json'))) {
    options.onBuild?.();
    buildArtifact(dir);
  }
  const stored = JSON.parse(fs.readFileSync(path.join(dir, 'artifact.json'), 'utf8')) as StoredArtifact;
  const bundles = Object.fromEntries(
    Object.entries(stored.bundles).map(([phase, b]) => [phase, { ...b, file: path.join(dir, b.file) }]),
  ) as unknown as Record<Phase, PhaseBundle>;
  const artifact: DeployedArtifact = { key, dir, definition: stored.definition, bundles };
  loaded.set(dir, artifact);
  return artifact;
}

/** Hash of every input of the artifact: sources, lockfile, CDK and TypeScript configuration, the format. */
export function artifactKey(): string {
  const hash = createHash('sha256').update(`stepwise-artifact-${ARTIFACT_FORMAT}\n`);
  const files: string[] = [];
  for (const dir of ['lib', 'lambdas']) collectSources(path.join(REPO_ROOT, dir), files);
  files.sort();
  for (const file of [...files, ...['package-lock.json', 'cdk.json', 'tsconfig.json'].map((f) => path.join(REPO_ROOT, f))]) {
    if (!fs.existsSync(file)) continue;
    hash.update(`${path.relative(REPO_ROOT, file)}\n`).update(fs.readFileSync(file)).update('\n');
  }
  return hash.digest('hex').slice(0, 24);
}

function collectSources(dir: string, into: string[]): void {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) collectSources(full, into);
    else if (/\.(ts|js|json)$/.test(entry.name)) into.push(full);
  }
}

/** Synthesizes the stack with bundling into a temporary folder, keeps what the twin needs, renames it into place. */
function buildArtifact(dir: string): void {
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  const staging = fs.mkdtempSync(path.join(parent, `.build-${process.pid}-`));
  try {
    const synthesized = synthesizeStack({ outdir: path.join(staging, 'cdk.out'), bundle: true });
    const { definition } = resolveDefinition(synthesized);
    const bundles: Partial<StoredArtifact['bundles']> = {};
    for (const [id, phase] of Object.entries(phaseFunctionsOf(synthesized.template))) {
      const properties = synthesized.template.Resources[id]?.Properties ?? {};
      const assetDir = path.join(synthesized.outdir, `asset.${assetHashOf(properties['Code'], id)}`);
      const handler = String(properties['Handler'] ?? 'index.handler');
      const [fileBase = 'index', handlerName = 'handler'] = handler.split('.');
      fs.mkdirSync(path.join(staging, phase));
      for (const file of fs.readdirSync(assetDir)) fs.copyFileSync(path.join(assetDir, file), path.join(staging, phase, file));
      const reserved = properties['ReservedConcurrentExecutions'];
      bundles[phase] = {
        phase,
        file: path.join(phase, `${fileBase}.js`),
        handlerName,
        timeoutSeconds: Number(properties['Timeout'] ?? 3),
        memoryMb: Number(properties['MemorySize'] ?? 128),
        ...(typeof reserved === 'number' ? { reservedConcurrency: reserved } : {}),
        environment: plainVariables(properties['Environment']),
      };
    }
    fs.rmSync(path.join(staging, 'cdk.out'), { recursive: true, force: true });
    const stored: StoredArtifact = { format: ARTIFACT_FORMAT, definition, bundles: bundles as StoredArtifact['bundles'] };
    fs.writeFileSync(path.join(staging, 'artifact.json'), JSON.stringify(stored));
    try {
      fs.renameSync(staging, dir);
    } catch (err) {
      // Another process built the same key first: theirs is identical.
      if (!fs.existsSync(path.join(dir, 'artifact.json'))) throw err;
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  pruneArtifacts(parent, dir);
}

/** Artifacts kept in the cache besides the one just built (other checkouts' or branches' recent builds). */
const KEEP_ARTIFACTS = 4;

/** Removes all but the newest cached artifacts (a build folder is left alone: another process may be writing it). */
function pruneArtifacts(parent: string, keep: string): void {
  const others = fs
    .readdirSync(parent, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && path.join(parent, e.name) !== keep)
    .map((e) => ({ dir: path.join(parent, e.name), at: fs.statSync(path.join(parent, e.name)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const old of others.slice(KEEP_ARTIFACTS - 1)) fs.rmSync(old.dir, { recursive: true, force: true });
}

/** `Code: { S3Key: '<hash>.zip' }` → the asset folder's hash. */
function assetHashOf(code: CfnValue | undefined, id: string): string {
  const key = code !== null && typeof code === 'object' && !Array.isArray(code) ? code['S3Key'] : undefined;
  const match = typeof key === 'string' ? /^([0-9a-f]{64})\.zip$/.exec(key) : null;
  if (!match?.[1]) throw new Error(`loadDeployedArtifact: function ${id} has no bundled asset (Code.S3Key ${JSON.stringify(key)}); was bundling skipped?`);
  return match[1];
}

/** The literal environment variables of a function (the local stack has no tokens in them). */
function plainVariables(environment: CfnValue | undefined): Record<string, string> {
  const variables = environment !== null && typeof environment === 'object' && !Array.isArray(environment) ? environment['Variables'] : undefined;
  if (variables === null || typeof variables !== 'object' || Array.isArray(variables) || variables === undefined) return {};
  return Object.fromEntries(Object.entries(variables).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
}
