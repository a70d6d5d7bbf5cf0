import { Phase } from '../lib/constants';
import { makePhaseHandler } from '../lib/phases/phase-handler';

/** Lambda task of the contract phase; all logic lives in lib/phases. */
export const handler = makePhaseHandler(Phase.Contract);
