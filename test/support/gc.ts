import v8 from 'node:v8';
import vm from 'node:vm';

/** A GC to call before reading the heap: the test process is not started with --expose-gc. Undefined when V8 will not give one. */
export function forceGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}
