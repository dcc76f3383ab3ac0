// Installs the PodNetworking CRD from deploy/ the way users do (kubectl apply), and waits until
// it is served. Not through ApiextensionsV1Api with parsed YAML: client-node serializes typed
// bodies by its model's attribute map, which silently drops `enum`, `default` and
// `x-kubernetes-list-type` of schema properties (`_enum`, `_default`, `xKubernetesListType`).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApiextensionsV1Api, CustomObjectsApi, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { PODNETWORKING_API } from '../../../provider/networking/constants.ts';
import { kubeConfig, kubectl } from './cluster.ts';
import { waitFor } from './wait.ts';
import { apiClient } from '../../helpers/deadline.ts';

export const CRD_FILE = new URL('../../../deploy/crds/network.alibabacloud.com_podnetworkings.yaml', import.meta.url);

export async function installPodNetworkingCrd(): Promise<void> {
  const kc = kubeConfig();
  const extensions = apiClient(kc, ApiextensionsV1Api);
  const custom = apiClient(kc, CustomObjectsApi);
  const { group, version, plural } = PODNETWORKING_API;
  const name = (parse(readFileSync(CRD_FILE, 'utf8')) as V1CustomResourceDefinition).metadata!.name!;
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', fileURLToPath(CRD_FILE)]);
  await waitFor(
    async () => {
      const got = await extensions.readCustomResourceDefinition({ name });
      return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
    },
    { describe: `CRD ${name} to be Established`, timeoutMs: 30_000 },
  );
  // Established can precede the first served request by a moment.
  await waitFor(() => custom.listClusterCustomObject({ group, version, plural }).then(() => true), { describe: 'PodNetworking API to be served', timeoutMs: 30_000 });
}
