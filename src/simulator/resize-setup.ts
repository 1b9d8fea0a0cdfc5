/** Which Kubernetes version the simulator behaves as, and the in-place resize it then serves. */
import type { SubresourceHandler } from './api-routes';
import { DEFAULT_KUBERNETES_MINOR } from './discovery';
import { DEFAULT_NODE_CPU_MILLIS, DEFAULT_RESIZE_DELAY_MS, PodResizeController, supportsInPlaceResize } from './pod-resize';
import type { ObjectStore } from './store';

/** The minor version of "1.N" (or "v1.N", "1.N.P"); undefined gives the default. */
export function kubernetesMinorOf(version: string | undefined): number {
  if (version === undefined) return DEFAULT_KUBERNETES_MINOR;
  const match = /^v?1\.(\d+)(\.\d+)?$/.exec(version.trim());
  if (!match || Number(match[1]) < 20) throw new Error(`Kubernetes version ${JSON.stringify(version)} is not understood (expected 1.N with N >= 20, e.g. 1.32 or 1.33)`);
  return Number(match[1]);
}

export interface PodResizeSetup {
  subresources: Record<string, SubresourceHandler>;
  stop(): void;
}

/** From 1.33 on, `pods/resize` is served and the kubelet stand-in admits and actuates resizes; before, neither. */
export function startPodResize(store: ObjectStore, minor: number, options: { nodeCpuMillis?: number; resizeDelayMs?: number }): PodResizeSetup {
  const nodeCpuMillis = options.nodeCpuMillis ?? DEFAULT_NODE_CPU_MILLIS;
  const resizeDelayMs = options.resizeDelayMs ?? DEFAULT_RESIZE_DELAY_MS;
  if (!Number.isInteger(nodeCpuMillis) || nodeCpuMillis <= 0) throw new Error(`node CPU must be a positive number of millicores, got ${nodeCpuMillis}`);
  if (!Number.isFinite(resizeDelayMs) || resizeDelayMs < 0) throw new Error(`resize delay must be a non-negative number of milliseconds, got ${resizeDelayMs}`);
  if (!supportsInPlaceResize(minor)) return { subresources: {}, stop: () => undefined };
  const controller = new PodResizeController(store, { nodeCpuMillis, resizeDelayMs });
  return { subresources: { 'pods/resize': controller.handler }, stop: () => controller.stop() };
}
