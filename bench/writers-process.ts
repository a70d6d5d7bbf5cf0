/**
 * The bench's application writers in a process of their own, as a real application is: measured in the bench's process
 * their latencies would include the event-loop time of the local stack running there (Data API emulator, state
 * machine, handlers), which the database never caused. Driven over IPC by `startWritersProcess`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { startAppTraffic, type TrafficOptions, type TrafficStats } from '../lib/demo/app-traffic';

type Request = { id: number; cmd: 'mark' } | { id: number; cmd: 'between'; from: number; to: number } | { id: number; cmd: 'stop' };

/** The writers, running in a child process; every call is one IPC round trip. */
export interface WritersProcess {
  mark(): Promise<number>;
  between(from: number, to: number): Promise<TrafficStats>;
  stop(): Promise<TrafficStats>;
}

export async function startWritersProcess(options: TrafficOptions): Promise<WritersProcess> {
  const child: ChildProcess = fork(__filename, ['--child', JSON.stringify(options)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, (value: unknown) => void>();
  let next = 0;
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('message', () => resolve());
  });
  child.on('message', (m: { id: number; value: unknown }) => {
    waiting.get(m.id)?.(m.value);
    waiting.delete(m.id);
  });
  const ask = <T>(request: Omit<Request, 'id'>): Promise<T> =>
    new Promise<T>((resolve) => {
      const id = (next += 1);
      waiting.set(id, resolve as (value: unknown) => void);
      child.send({ ...request, id });
    });
  return {
    mark: () => ask<number>({ cmd: 'mark' }),
    between: (from, to) => ask<TrafficStats>({ cmd: 'between', from, to } as Omit<Request, 'id'>),
    stop: async () => {
      const stats = await ask<TrafficStats>({ cmd: 'stop' });
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
      return stats;
    },
  };
}

if (process.argv[2] === '--child') {
  const traffic = startAppTraffic(JSON.parse(process.argv[3]!) as TrafficOptions);
  process.on('message', (m: Request) => {
    const reply = (value: unknown) => process.send!({ id: m.id, value });
    if (m.cmd === 'mark') reply(traffic.mark());
    else if (m.cmd === 'between') reply(traffic.between(m.from, m.to));
    else void traffic.stop().then((stats) => {
      reply(stats);
      process.disconnect();
    });
  });
  process.send!({ ready: true });
}
