/**
 * `aws-local-stepfunctions` 3 calls `Promise.withResolvers` (Node ≥ 22) inside every Task state. Node 20 lacks it, so
 * this module installs a spec-compatible fallback once, before the library runs anything. Importing it is enough.
 */
interface PromiseWithResolversShape<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

type PromiseCtorWithResolvers = PromiseConstructor & {
  withResolvers?: <T>() => PromiseWithResolversShape<T>;
};

/** Installs `Promise.withResolvers` when the runtime lacks it; a no-op on Node ≥ 22. */
export function installPromiseWithResolvers(): void {
  const ctor = Promise as PromiseCtorWithResolvers;
  if (typeof ctor.withResolvers === 'function') return;
  Object.defineProperty(ctor, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(): PromiseWithResolversShape<T> {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

installPromiseWithResolvers();
