// The wire: what the official SDKs send is accepted (all three signature schemes they can use),
// what they must not send is refused with Alibaba's codes, errors have Alibaba's shape.

import { createServer, request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as $OpenApi from '@alicloud/openapi-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudSim } from '../../../adapters/cloudsim/server.ts';
import { Params, parseQueryString, unflatten } from '../../../adapters/cloudsim/wire/params.ts';
import { $eci, AK, REGION, create, eciClient, expectCloudError, startTestSim } from './helpers.ts';
import { fetchWithDeadline, withDeadline } from '../../helpers/deadline.ts';

describe('parameter unflattening', () => {
  it('turns 1-based flat keys into nested lists and objects', () => {
    const flat = parseQueryString('Container.1.Name=a&Container.1.Port.2.Port=443&Container.1.Port.1.Port=80&Container.2.Name=b&Tag.1.Key=k&Tag.1.Value=&ContainerGroupIds=%5B%22eci-1%22%5D&Container.1.Command.1=sh&Container.1.Command.2=-c');
    const p = new Params(unflatten(flat));
    const containers = p.list('Container');
    expect(containers.map((c) => c.str('Name'))).toEqual(['a', 'b']);
    expect(containers[0]!.list('Port').map((x) => x.int('Port'))).toEqual([80, 443]);
    expect(containers[0]!.strings('Command')).toEqual(['sh', '-c']);
    expect(p.list('Tag')[0]!.str('Value')).toBe('');
    expect(p.jsonStrings('ContainerGroupIds')).toEqual(['eci-1']);
  });

  it('names the parameter in errors', () => {
    const p = new Params(unflatten(parseQueryString('Limit=abc&ContainerGroupIds=notjson')));
    expect(() => p.int('Limit')).toThrow(/"Limit" is not valid/);
    expect(() => p.jsonStrings('ContainerGroupIds')).toThrow(/"ContainerGroupIds" is not valid: expected a JSON array/);
    expect(() => new Params(unflatten(parseQueryString('Container.1.Port.1=1&Container.1.Port.1.Port=2')))).toThrow(/Container\.1\.Port\.1\.Port/);
  });
});

describe('signatures, nonces and errors', () => {
  let sim: CloudSim;
  beforeAll(async () => {
    sim = await startTestSim();
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('accepts ACS3-HMAC-SHA256 (default), ACS3-HMAC-SM3 and the old RPC HMAC-SHA1 scheme', async () => {
    for (const signatureAlgorithm of [undefined, 'ACS3-HMAC-SM3', 'v2']) {
      const eci = eciClient(sim, signatureAlgorithm === undefined ? {} : { signatureAlgorithm });
      const id = await create(eci);
      const res = await eci.describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION, containerGroupIds: JSON.stringify([id]) }));
      expect(res.body?.containerGroups?.[0]?.containerGroupId, String(signatureAlgorithm)).toBe(id);
    }
  });

  it('refuses a wrong secret with SignatureDoesNotMatch (400) and an unknown key with InvalidAccessKeyId.NotFound (404)', async () => {
    const req = new $eci.DescribeContainerGroupsRequest({ regionId: REGION });
    await expectCloudError(eciClient(sim, { secret: 'not-the-secret' }).describeContainerGroups(req), 'SignatureDoesNotMatch', 400);
    await expectCloudError(eciClient(sim, { secret: 'not-the-secret', signatureAlgorithm: 'v2' }).describeContainerGroups(req), 'SignatureDoesNotMatch', 400);
    await expectCloudError(eciClient(sim, { id: 'LTAIunknown' }).describeContainerGroups(req), 'InvalidAccessKeyId.NotFound', 404);
  });

  it('refuses a replayed request (same nonce) with SignatureNonceUsed', async () => {
    // Capture exactly what the SDK sends, then replay it twice with a raw HTTP client.
    let captured: { method: string; url: string; headers: IncomingHttpHeaders } | undefined;
    const capture = createServer((req, res) => {
      captured = { method: req.method!, url: req.url!, headers: req.headers };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"RequestId":"x","TotalCount":0,"ContainerGroups":[]}');
    });
    await new Promise<void>((resolve) => capture.listen(0, '127.0.0.1', resolve));
    const capturePort = (capture.address() as AddressInfo).port;
    const fake = { ...sim, endpoint: `127.0.0.1:${capturePort}` };
    await eciClient(fake).describeContainerGroups(new $eci.DescribeContainerGroupsRequest({ regionId: REGION }));
    capture.close();
    expect(captured).toBeDefined();
    const headers = { ...captured!.headers, host: captured!.headers.host! };
    // The signature covers the host header, so replay against the simulator with the same host value
    // but connect to the simulator's port.
    const replay = (): Promise<{ status: number; body: { Code?: string; RequestId?: string } }> =>
      withDeadline(
        (signal) =>
          new Promise((resolve, reject) => {
            const r = request({ host: '127.0.0.1', port: sim.port, method: captured!.method, path: captured!.url, headers, signal }, (res) => {
              let text = '';
              res.on('data', (c: Buffer) => (text += c.toString()));
              res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as { Code?: string } }));
              res.on('error', reject);
            });
            r.on('error', reject);
            r.end();
          }),
        4_000,
        'an answer to the replayed DescribeContainerGroups',
      );
    const first = await replay();
    expect(first.status).toBe(200);
    expect(first.body.RequestId).toMatch(/^[0-9A-F-]{36}$/);
    const second = await replay();
    expect(second.status).toBe(400);
    expect(second.body.Code).toBe('SignatureNonceUsed');
  });

  it('answers an unknown action with InvalidAction.NotFound (404)', async () => {
    const eci = eciClient(sim);
    const params = new $OpenApi.Params({ action: 'NoSuchAction', version: '2018-08-08', protocol: 'HTTP', pathname: '/', method: 'POST', authType: 'AK', style: 'RPC', reqBodyType: 'formData', bodyType: 'json' });
    await expectCloudError(eci.callApi(params, new $OpenApi.OpenApiRequest({ query: { RegionId: REGION } }), {} as never), 'InvalidAction.NotFound', 404);
  });

  it('rejects an unsigned request, accepts large headers, and puts a RequestId on every answer', async () => {
    const res = await fetchWithDeadline(`${sim.url}/?RegionId=${REGION}`, { method: 'POST', headers: { 'x-acs-action': 'DescribeContainerGroups', 'x-acs-version': '2018-08-08', 'x-big': 'a'.repeat(30_000) }, timeoutMs: 4_000 });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { Code: string; RequestId: string; HostId: string; Message: string; Recommend: string };
    expect(body.Code).toBe('IncompleteSignature');
    expect(body.RequestId).toMatch(/^[0-9A-F-]{36}$/);
    expect(res.headers.get('x-acs-request-id')).toBe(body.RequestId);
    expect(Object.keys(body).sort()).toEqual(['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
  });

  it('names the missing parameter', async () => {
    const eci = eciClient(sim);
    const req = new $eci.CreateContainerGroupRequest({ regionId: REGION, vSwitchId: 'vsw-a', securityGroupId: 'sg-main', container: [new $eci.CreateContainerGroupRequestContainer({ name: 'c', image: 'nginx' })] });
    const e = await expectCloudError(eci.createContainerGroup(req), 'MissingParameter', 400);
    expect(e.data.Message).toContain('"ContainerGroupName"');
    const noImage = new $eci.CreateContainerGroupRequest({ regionId: REGION, containerGroupName: 'x1', vSwitchId: 'vsw-a', container: [new $eci.CreateContainerGroupRequestContainer({ name: 'c' })] });
    expect((await expectCloudError(eci.createContainerGroup(noImage), 'MissingParameter', 400)).data.Message).toContain('"Container.1.Image"');
    const badRegion = new $eci.DescribeContainerGroupsRequest({ regionId: 'cn-nowhere' });
    await expectCloudError(eci.describeContainerGroups(badRegion), 'InvalidRegionId.NotFound', 404);
    expect(AK.id).toBeTypeOf('string');
  });
});
