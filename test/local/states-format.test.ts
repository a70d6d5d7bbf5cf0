/**
 * The twin's States.Format does what AWS's does: the template's escapes are undone, the values go in as they are. The
 * library it runs on stripped every backslash from the result, so the JSON of an error Cause lost the backslash of its
 * "\n" and notifications read "…does not existn  fix: …" (fixed by patches/aws-local-stepfunctions+3.0.0.patch).
 */
import { StateMachine } from 'aws-local-stepfunctions';
import '../../lib/local/step-functions/polyfill';
import { readableErrors, slackPayload } from '../../lib/local/sns-sink';

async function format(intrinsic: string, input: unknown): Promise<unknown> {
  const machine = new StateMachine({ StartAt: 'P', States: { P: { Type: 'Pass', Parameters: { 'x.$': intrinsic }, End: true } } } as never, { validationOptions: { noValidate: true } });
  return ((await machine.run(input as never).result) as { x: unknown }).x;
}

it('keeps a backslash in a value and undoes the template escapes', async () => {
  const cause = JSON.stringify({ errorType: 'PreflightError', errorMessage: 'SW_TABLE_NOT_FOUND: table public.Nope does not exist\n  fix: check the spec' });
  expect(cause).toContain('\\n');
  await expect(format("States.Format('Nothing was changed. {}', $.cause)", { cause })).resolves.toBe(`Nothing was changed. ${cause}`);
  await expect(format("States.Format('a \\{\\} b \\\\ c \\' {}', $.v)", { v: 'd\\e' })).resolves.toBe("a {} b \\ c ' d\\e");
  await expect(format("States.Format('line1\nline2 {}', $.v)", { v: 'x' })).resolves.toBe('line1\nline2 x');
});

it("Slack text shows a failure's error message with its newlines, not the Cause's JSON", () => {
  const cause = JSON.stringify({ errorType: 'PreflightError', errorMessage: 'SW_TABLE_NOT_FOUND: table public.Nope does not exist\n  fix: check the spec', trace: ['PreflightError: …', '    at x (y.ts:1:1)'] });
  const message = JSON.stringify({ version: '1.0', source: 'custom', content: { textType: 'client-markdown', title: 'Stepwise m: refused by preflight', description: `Nothing was changed. PreflightError: ${cause}` } });
  expect(slackPayload({ message }).text).toBe('*Stepwise m: refused by preflight*\nNothing was changed. PreflightError: SW_TABLE_NOT_FOUND: table public.Nope does not exist\n  fix: check the spec');
  expect(readableErrors('no error here {"a":1}')).toBe('no error here {"a":1}');
  expect(slackPayload({ subject: 's', message: 'line1\nline2' }).text).toBe('*s*\nline1\nline2');
});
