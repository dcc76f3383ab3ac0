// The hand-written CRD against the TypeScript model: the same enums and limits in both places.
// (Its behaviour on a real apiserver is checked in test/integration/admission.test.ts.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MAX_SECURITY_GROUPS, PODNETWORKING_API } from '../../../provider/networking/constants.ts';
import { ALLOCATION_TYPES, ENI_TYPES, RELEASE_STRATEGIES, VSWITCH_SELECTION_POLICIES } from '../../../provider/networking/podnetworking.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const crd: any = parse(readFileSync(new URL('../../../deploy/crds/network.alibabacloud.com_podnetworkings.yaml', import.meta.url), 'utf8'));
const version = crd.spec.versions[0];
const spec = version.schema.openAPIV3Schema.properties.spec;
const status = version.schema.openAPIV3Schema.properties.status;

describe('PodNetworking CRD', () => {
  it('is Terway\'s API: cluster-scoped v1beta1, served and stored, with a status subresource', () => {
    expect(crd.metadata.name).toBe(`${PODNETWORKING_API.plural}.${PODNETWORKING_API.group}`);
    expect(crd.spec.group).toBe(PODNETWORKING_API.group);
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.names).toMatchObject({ kind: PODNETWORKING_API.kind, plural: PODNETWORKING_API.plural, singular: PODNETWORKING_API.singular });
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({ name: PODNETWORKING_API.version, served: true, storage: true, subresources: { status: {} } });
    expect((version.additionalPrinterColumns as { name: string }[]).map((c) => c.name)).toEqual(['Status', 'Allocation', 'Policy', 'Message', 'Age']);
  });

  it('has the enums and limits of the TypeScript model', () => {
    expect(spec.properties.allocationType.properties.type.enum).toEqual(ALLOCATION_TYPES);
    expect(spec.properties.allocationType.properties.releaseStrategy.enum).toEqual(RELEASE_STRATEGIES);
    expect(spec.properties.vSwitchSelectOptions.properties.vSwitchSelectionPolicy.enum).toEqual(VSWITCH_SELECTION_POLICIES);
    expect(spec.properties.vSwitchSelectOptions.properties.vSwitchSelectionPolicy.default).toBe('ordered');
    expect(spec.properties.eniOptions.properties.eniType.enum).toEqual(ENI_TYPES);
    expect(spec.properties.securityGroupIDs).toMatchObject({ minItems: 1, maxItems: MAX_SECURITY_GROUPS, 'x-kubernetes-list-type': 'set' });
    expect(spec.properties.vSwitchOptions).toMatchObject({ minItems: 1, 'x-kubernetes-list-type': 'set' });
    expect(spec.required).toEqual(['vSwitchOptions', 'securityGroupIDs']);
    expect(status.properties.status.enum).toEqual(['Ready', 'Fail']);
    for (const which of ['podSelector', 'namespaceSelector']) {
      const expr = spec.properties.selector.properties[which].properties.matchExpressions.items;
      expect(expr.properties.operator.enum).toEqual(['In', 'NotIn', 'Exists', 'DoesNotExist']);
      expect(expr.required).toEqual(['key', 'operator']);
      expect(expr['x-kubernetes-validations']).toHaveLength(1);
    }
  });
});
