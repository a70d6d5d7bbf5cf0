import { parseSpec } from '../spec';
import { nextWindowStart } from '../window/next-window';
import type { PhaseEvent } from '../workflow/state';
import type { PhaseDeps } from './phase-context';

/** Which phase each window slot holds back. */
export const WINDOW_SLOTS = {
  windowConstrain: 'constrain',
  windowContract: 'contract',
} as const;

export interface WindowResult {
  /** The phase this result holds back. */
  readonly phase: string;
  /** When it may start (UTC, whole seconds): now when no window applies or the window is open. */
  readonly waitUntil: string;
  /** True when the state machine will wait. */
  readonly waiting: boolean;
}

/**
 * Window: when may the next window-only phase start? Pure arithmetic over `spec.window` (no database): the state
 * machine's Wait then sleeps until `waitUntil`, which costs nothing however long it is.
 */
export async function windowPhase(event: PhaseEvent, deps: PhaseDeps): Promise<WindowResult> {
  const spec = parseSpec(event.state.spec);
  const phase = WINDOW_SLOTS[event.slot as keyof typeof WINDOW_SLOTS] ?? event.slot;
  const now = new Date(Math.ceil((deps.now ?? Date.now)() / 1000) * 1000);
  const window = spec.window;
  const start =
    window && (window.phases as readonly string[]).includes(phase)
      ? nextWindowStart(window.schedule, window.timezone, now, window.durationMinutes)
      : now;
  return { phase, waitUntil: start.toISOString().replace(/\.\d{3}Z$/, 'Z'), waiting: start.getTime() > now.getTime() };
}
