/** Writes a kubeconfig that points kubectl and @kubernetes/client-node at the simulator. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';

export const KUBECONFIG_CONTEXT = 'teastore-simulator';

export function kubeconfigText(serverUrl: string, namespace: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: KUBECONFIG_CONTEXT, cluster: { server: serverUrl, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'simulator-user', user: { token: 'simulator' } }],
    contexts: [{ name: KUBECONFIG_CONTEXT, context: { cluster: KUBECONFIG_CONTEXT, user: 'simulator-user', namespace } }],
    'current-context': KUBECONFIG_CONTEXT,
    preferences: {},
  });
}

/** Writes atomically (temp file + rename), so a reader never sees half a file. */
export function writeKubeconfig(file: string, serverUrl: string, namespace: string): string {
  const resolved = path.resolve(file);
  mkdirSync(path.dirname(resolved), { recursive: true });
  const temp = `${resolved}.${process.pid}.tmp`;
  writeFileSync(temp, kubeconfigText(serverUrl, namespace), { mode: 0o600 });
  renameSync(temp, resolved);
  return resolved;
}
