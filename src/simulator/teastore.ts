/** The starting state of the simulator: the TeaStore web UI Deployment as the original deployed it. */
import type { KubeObject } from './status';

export const TEASTORE_NAMESPACE = 'app2scale';
export const TEASTORE_DEPLOYMENT = 'teastore-webui';

export function teastoreNamespace(name = TEASTORE_NAMESPACE): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

/** The web UI Deployment of gsa's teastore-webui-deployment.yaml (1 replica, 500m CPU, -Xmx500M). */
export function teastoreDeployment(name = TEASTORE_DEPLOYMENT, namespace = TEASTORE_NAMESPACE): KubeObject {
  const labels = { app: 'teastore', run: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name,
              image: 'descartesresearch/teastore-webui',
              ports: [{ containerPort: 8080, protocol: 'TCP' }],
              env: [
                { name: 'HOST_NAME', value: name },
                { name: 'REGISTRY_HOST', value: 'teastore-registry' },
                { name: 'CATALINA_OPTS', value: '-Xmx500M' },
              ],
              resources: { limits: { cpu: '500m' } },
            },
          ],
        },
      },
    },
  };
}
