import { Phase } from '../lib/constants';
import { makePhaseHandler } from '../lib/phases/phase-handler';

/** Lambda task that tells when a window-only phase may start; all logic lives in lib/phases. */
export const handler = makePhaseHandler(Phase.Window);
