import { z } from 'zod';
import { pgIdentifier } from '../fields';

/** `set_replica_identity` (deprecated by pgroll): REPLICA IDENTITY NOTHING | DEFAULT | FULL | USING INDEX. */
export const setReplicaIdentitySchema = z.strictObject({
  table: pgIdentifier,
  identity: z
    .strictObject({
      type: z.string().transform((t) => t.toUpperCase()).pipe(z.enum(['NOTHING', 'DEFAULT', 'FULL', 'INDEX'])),
      index: z.string().optional(),
    })
    .refine((i) => i.type !== 'INDEX' || (i.index !== undefined && i.index.length > 0), { message: 'is required when type is index', path: ['index'] }),
});
export type SetReplicaIdentityOp = z.output<typeof setReplicaIdentitySchema>;
