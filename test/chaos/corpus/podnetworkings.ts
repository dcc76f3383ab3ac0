// Bad PodNetworkings: the CRD's schema refuses most at the API (a clear error naming the field);
// what passes the schema but cannot work gets status Fail from the provider, naming the culprit.
export type PodNetworkingOutcome = 'api' | 'fail';

export interface PodNetworkingCase {
  id: string;
  spec: unknown;
  expect: PodNetworkingOutcome;
  field: string;
  quick?: boolean;
}

const ok = { selector: { podSelector: { matchLabels: { app: 'never-matches' } } }, securityGroupIDs: ['sg-chaosdefault'], vSwitchOptions: ['vsw-chaosj1'] };

export const PODNETWORKING_CASES: PodNetworkingCase[] = [
  { id: 'no-vswitches', spec: { ...ok, vSwitchOptions: [] }, expect: 'api', field: 'spec.vSwitchOptions', quick: true },
  { id: 'vswitch-id-malformed', spec: { ...ok, vSwitchOptions: ['subnet-123'] }, expect: 'api', field: 'spec.vSwitchOptions[0]' },
  { id: 'vswitches-not-a-list', spec: { ...ok, vSwitchOptions: 'vsw-chaosj1' }, expect: 'api', field: 'spec.vSwitchOptions' },
  { id: 'no-security-groups', spec: { ...ok, securityGroupIDs: [] }, expect: 'api', field: 'spec.securityGroupIDs' },
  { id: 'security-group-malformed', spec: { ...ok, securityGroupIDs: ['group-1'] }, expect: 'api', field: 'spec.securityGroupIDs[0]' },
  { id: 'six-security-groups', spec: { ...ok, securityGroupIDs: ['sg-a', 'sg-b', 'sg-c', 'sg-d', 'sg-e', 'sg-f'] }, expect: 'api', field: 'spec.securityGroupIDs' },
  { id: 'selector-operator-unknown', spec: { ...ok, selector: { podSelector: { matchExpressions: [{ key: 'a', operator: 'Near', values: ['b'] }] } } }, expect: 'api', field: 'operator', quick: true },
  { id: 'selector-expression-no-key', spec: { ...ok, selector: { podSelector: { matchExpressions: [{ operator: 'In', values: ['b'] }] } } }, expect: 'api', field: 'key' },
  { id: 'allocation-type-bogus', spec: { ...ok, allocationType: { type: 'Bogus' } }, expect: 'api', field: 'spec.allocationType.type' },
  { id: 'release-after-garbage', spec: { ...ok, allocationType: { type: 'Elastic', releaseStrategy: 'TTL', releaseAfter: 'soon' } }, expect: 'api', field: 'spec.allocationType.releaseAfter' },
  { id: 'selection-policy-bogus', spec: { ...ok, vSwitchSelectOptions: { vSwitchSelectionPolicy: 'best' } }, expect: 'api', field: 'vSwitchSelectionPolicy' },
  { id: 'no-spec-fields', spec: {}, expect: 'api', field: 'spec.vSwitchOptions' },
  { id: 'vswitch-unknown', spec: { ...ok, vSwitchOptions: ['vsw-doesnotexist'] }, expect: 'fail', field: 'vsw-doesnotexist', quick: true },
  { id: 'vswitch-one-unknown', spec: { ...ok, vSwitchOptions: ['vsw-chaosj1', 'vsw-nope2'] }, expect: 'fail', field: 'vsw-nope2' },
  { id: 'fixed-allocation', spec: { ...ok, allocationType: { type: 'Fixed', releaseStrategy: 'Never' } }, expect: 'fail', field: 'Fixed' },
];
