import { describe, expect, it } from 'vitest';
import { classifyCloudError, CloudError, CloudErrorCode, errorCodeIs, type CloudErrorVerdict } from '../../../provider/cloud/errors.ts';

const err = (code: string, httpStatus?: number) =>
  new CloudError({ action: 'CreateContainerGroup', code, detail: 'details', requestId: 'req-1', ...(httpStatus === undefined ? {} : { httpStatus }) });

describe('classifyCloudError', () => {
  const rows: [code: string, httpStatus: number | undefined, expected: CloudErrorVerdict][] = [
    ['InvalidVSwitchId.IpNotEnough', 403, 'failover-vswitch'],
    ['QuotaExceeded.PrivateIpAddress', 403, 'failover-vswitch'],
    ['OperationDenied.NoStock', 403, 'retry'],
    ['RecommendEmpty.InstanceTypeNoStock', 403, 'retry'],
    ['QuotaExceeded.Vcpu', 403, 'retry'],
    ['QuotaExceeded.ContainerGroup', 403, 'retry'],
    ['Zone.NotOnSale', 403, 'terminal'],
    ['Throttling', 400, 'throttled'],
    ['Throttling.User', 400, 'throttled'],
    ['Throttling.Api', 503, 'throttled'],
    ['Throttling.DeepPageSkip', 400, 'throttled'],
    ['Degrade.Api', 400, 'throttled'],
    ['SomethingNew', 429, 'throttled'],
    ['InvalidSecurityGroupId.NotFound', 400, 'terminal'],
    ['InvalidSecurityGroupId.NotFound', 404, 'terminal'],
    ['InvalidOperation.VpcMismatch', 400, 'terminal'],
    ['InvalidParameter', 400, 'terminal'],
    ['InvalidParameter.Cpu', 400, 'terminal'],
    ['MissingParameter', 400, 'terminal'],
    ['MissingParameter.VSwitchId', 400, 'terminal'],
    ['IdempotentParameterMismatch', 400, 'terminal'],
    ['SignatureDoesNotMatch', 400, 'terminal'],
    ['InvalidAccessKeyId.NotFound', 404, 'terminal'],
    ['Forbidden.RAM', 403, 'terminal'],
    ['SignatureNonceUsed', 400, 'retry'],
    ['IncorrectStatus', 400, 'retry'],
    ['OperationConflict', 400, 'retry'],
    ['ServiceUnavailable', 503, 'retry'],
    ['InternalError', 500, 'retry'],
    ['AnythingElse', 502, 'retry'],
    ['AnythingElse', 400, 'terminal'],
    ['InvalidParameter.NotFound', 400, 'gone'],
    ['InvalidContainerGroupId.NotFound', 404, 'gone'],
    ['ContainerGroup.NotFound', 404, 'gone'],
    ['ResourceNotFound', 404, 'gone'],
    ['Network', undefined, 'retry'],
    ['Timeout', undefined, 'retry'],
    ['Unknown', undefined, 'retry'],
    ['ECONNREFUSED', undefined, 'retry'],
  ];
  it.each(rows)('%s (HTTP %s) -> %s', (code, status, expected) => {
    const result = classifyCloudError(err(code, status));
    expect(result.verdict).toBe(expected);
    expect(result.hint.length).toBeGreaterThan(10);
  });

  it('anything that is not a CloudError is transient', () => {
    expect(classifyCloudError(new Error('boom')).verdict).toBe('retry');
    expect(classifyCloudError('weird').verdict).toBe('retry');
  });
});

describe('CloudError', () => {
  it('formats action, code, detail and request id', () => {
    const e = new CloudError({ action: 'CreateContainerGroup', code: CloudErrorCode.IpNotEnough, detail: 'The specified VSwitch has not enough IpAddress.', requestId: 'ABC-1', httpStatus: 403 });
    expect(e.message).toBe('CreateContainerGroup: InvalidVSwitchId.IpNotEnough: The specified VSwitch has not enough IpAddress. (requestId ABC-1)');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('CloudError');
    expect(e.httpStatus).toBe(403);
  });

  it('omits the request id when there is none', () => {
    expect(new CloudError({ action: 'DescribeVSwitches', code: 'Network', detail: 'connect ECONNREFUSED' }).message).toBe('DescribeVSwitches: Network: connect ECONNREFUSED');
  });
});

describe('errorCodeIs', () => {
  it('matches exact codes and prefixes ending in *', () => {
    expect(errorCodeIs(err('InvalidParameter.Cpu'), 'InvalidParameter*')).toBe(true);
    expect(errorCodeIs(err('InvalidParameter.Cpu'), 'InvalidParameter')).toBe(false);
    expect(errorCodeIs(err('Throttling.User'), CloudErrorCode.Throttling, CloudErrorCode.ThrottlingUser)).toBe(true);
    expect(errorCodeIs(new Error('Throttling.User'), 'Throttling.User')).toBe(false);
  });
});
