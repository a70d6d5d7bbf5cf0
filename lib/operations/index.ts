import type { Spec } from '../spec';
import { convertColumn } from './convert-column';
import type { Operation, OperationContext, TableFacts } from './operation';

export * from './operation';
export * from './plan';
export * from './names';
export { convertColumn } from './convert-column';

/** The operation implementing `spec.operation.type`, bound to its context. */
export function operationFor(spec: Spec, table: TableFacts): { operation: Operation<Spec['operation']>; ctx: OperationContext<Spec['operation']> } {
  switch (spec.operation.type) {
    case 'convert-column':
      return { operation: convertColumn, ctx: { spec, op: spec.operation, table } };
  }
}
