/**
 * Chooses and initialises the TensorFlow.js backend.
 *
 * Preference order: `tensorflow` (native, from the optional @tensorflow/tfjs-node, used whenever
 * it installed), then `wasm` (ships its .wasm files in node_modules), then the pure-JS `cpu`
 * backend. The wasm binaries are located on disk with setWasmPaths: without it the backend would
 * try to fetch them over the network.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  /** The backend in use, as tf.getBackend() reports it. */
  name: string;
  /** Backends tried before it, with the reason each was passed over. */
  skipped: { name: BackendName; reason: string }[];
  tfjsVersion: string;
}

// The library prints nothing: PROD silences tfjs's console notices (such as the cpu backend's
// advice to install tfjs-node) and skips its debug-only checks.
tf.env().set('PROD', true);

let wasmRegistered = false;
let nodeTried = false;
let nodeAvailable = false;

/** Loads @tensorflow/tfjs-node once; it registers the `tensorflow` backend when it loads. */
function tryNativeBackend(): string | null {
  if (!nodeTried) {
    nodeTried = true;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@tensorflow/tfjs-node');
      nodeAvailable = true;
    } catch (err) {
      nodeAvailable = false;
      return (err as Error).message.split('\n')[0];
    }
  }
  return nodeAvailable ? null : '@tensorflow/tfjs-node is not installed';
}

function registerWasm(): void {
  if (wasmRegistered) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  wasm.setWasmPaths(dist + path.sep);
  wasmRegistered = true;
}

async function activate(name: BackendName): Promise<string | null> {
  try {
    if (name === 'tensorflow') {
      const reason = tryNativeBackend();
      if (reason) return reason;
    }
    if (name === 'wasm') registerWasm();
    const before = process.listeners('uncaughtException');
    const beforeRejection = process.listeners('unhandledRejection');
    const ok = await tf.setBackend(name);
    if (!ok) return `tf.setBackend('${name}') returned false`;
    await tf.ready();
    // The wasm module installs handlers that rethrow every uncaught error with its whole minified
    // source attached; Node's own reporting is clearer.
    for (const l of process.listeners('uncaughtException')) if (!before.includes(l)) process.removeListener('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (!beforeRejection.includes(l)) process.removeListener('unhandledRejection', l);
    return tf.getBackend() === name ? null : `tf.getBackend() is ${tf.getBackend()}`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

let current: BackendInfo | null = null;

/**
 * Initialises a backend: the one asked for (or the RL_AUTOSCALER_BACKEND environment variable),
 * else the first that works of tensorflow, wasm, cpu. Resolves to what was chosen.
 * Calling it again with the same request is cheap.
 */
export async function initBackend(preferred?: BackendName): Promise<BackendInfo> {
  const requested = preferred ?? (process.env.RL_AUTOSCALER_BACKEND as BackendName | undefined);
  if (requested !== undefined && !BACKEND_NAMES.includes(requested)) {
    throw new Error(`unknown backend ${JSON.stringify(requested)}; expected one of ${BACKEND_NAMES.join(', ')}`);
  }
  if (current && (requested === undefined || current.name === requested) && tf.getBackend() === current.name) return current;
  const order: BackendName[] = requested ? [requested, ...BACKEND_NAMES.filter((b) => b !== requested && b === 'cpu')] : [...BACKEND_NAMES];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of order) {
    const reason = await activate(name);
    if (reason === null) {
      current = { name, skipped, tfjsVersion: tf.version.tfjs };
      return current;
    }
    skipped.push({ name, reason });
  }
  throw new Error(`no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** True once initBackend has made a backend current (and it still is). */
export function backendReady(): boolean {
  return current !== null && tf.getBackend() === current.name;
}

/** The backend in use (initialising the default one first if needed). */
export async function backendName(): Promise<string> {
  return (await initBackend()).name;
}
