import { ConfigError } from '../errors';
import { durationToSeconds } from './duration';
import type { Spec } from './schema';

/** The spec with its soak replaced by `--soak` (ISO 8601), or unchanged without one. */
export function applySoak(spec: Spec, soak: string | undefined): Spec {
  if (soak === undefined) return spec;
  try {
    durationToSeconds(soak);
  } catch {
    throw new ConfigError(`--soak ${soak} is not an ISO 8601 duration`, 'Write it like PT2S, PT10M or P7D.', { soak });
  }
  return { ...spec, soak };
}
