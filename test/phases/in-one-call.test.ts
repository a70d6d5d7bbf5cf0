import { inOneCall } from '../../lib/phases/execute-plan';

describe('inOneCall: the statements of a transactional step in as few Data API calls as possible', () => {
  it('sends several statements without parameters as one DO block, in order', () => {
    const calls = inOneCall([{ sql: 'DROP TRIGGER IF EXISTS "a" ON "t"' }, { sql: 'ALTER TABLE "t" DROP COLUMN IF EXISTS "c"' }]);
    expect(calls).toEqual([{ sql: 'DO $stepwise_step$\nBEGIN\n  DROP TRIGGER IF EXISTS "a" ON "t";\n  ALTER TABLE "t" DROP COLUMN IF EXISTS "c";\nEND\n$stepwise_step$' }]);
  });
  it('keeps one statement, statements with parameters, and any statement containing the block tag as they are', () => {
    expect(inOneCall([{ sql: 'SELECT 1' }])).toEqual([{ sql: 'SELECT 1' }]);
    const withParams = [{ sql: 'SELECT :a', params: { a: 1 } }, { sql: 'SELECT 2' }];
    expect(inOneCall(withParams)).toEqual(withParams);
    const tagged = [{ sql: `SELECT '$stepwise_step$'` }, { sql: 'SELECT 2' }];
    expect(inOneCall(tagged)).toEqual(tagged);
    expect(inOneCall([])).toEqual([]);
  });
});
