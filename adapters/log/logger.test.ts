import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

function capture(options: Parameters<typeof createLogger>[0] = {}) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ now: () => new Date('2026-01-01T00:00:00.000Z'), write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>), ...options });
  return { log, lines };
}

describe('createLogger', () => {
  it('writes one JSON object per line with level, time, msg and fields', () => {
    const { log, lines } = capture();
    log.info('node created', { node: 'vn-a', zone: 'a' });
    expect(lines).toEqual([{ level: 'info', time: '2026-01-01T00:00:00.000Z', msg: 'node created', node: 'vn-a', zone: 'a' }]);
  });

  it.each([
    [{ accessKeySecret: 's3cret' }, { accessKeySecret: '<redacted>' }],
    [{ cloud: { access_key_secret: 's', accessKeyId: 'LTAI' } }, { cloud: { access_key_secret: '<redacted>', accessKeyId: 'LTAI' } }],
    [{ headers: [{ Authorization: 'Bearer x' }] }, { headers: [{ Authorization: '<redacted>' }] }],
    [{ password: 1, token: { nested: 'x' } }, { password: '<redacted>', token: '<redacted>' }],
  ])('redacts %j', (fields, expected) => {
    const { log, lines } = capture();
    log.warn('m', fields);
    expect(lines[0]).toMatchObject(expected);
    expect(JSON.stringify(lines[0])).not.toMatch(/s3cret|Bearer x/);
  });

  it('redacts extra keys, filters by level, spells out errors, survives cycles, keeps the head', () => {
    const { log, lines } = capture({ level: 'warn', redact: ['kubeconfig'] });
    log.info('dropped');
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    const err = Object.assign(new Error('boom', { cause: new Error('root') }), { code: 'Throttling' });
    log.child({ component: 'nodes' }).error('failed', { err, kubeconfig: '/x', cyclic, level: 'fake', msg: 'fake' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toEqual({
      level: 'error',
      time: '2026-01-01T00:00:00.000Z',
      msg: 'failed',
      component: 'nodes',
      kubeconfig: '<redacted>',
      err: { name: 'Error', message: 'boom', code: 'Throttling', cause: { name: 'Error', message: 'root' } },
      cyclic: { a: 1, self: '[Circular]' },
    });
  });

  it('adds trace_id and span_id while a sampled span is active, and nothing otherwise', () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const { log, lines } = capture();
      const spanContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED };
      context.with(trace.setSpanContext(ROOT_CONTEXT, spanContext), () => log.info('inside'));
      log.info('outside');
      context.with(trace.setSpanContext(ROOT_CONTEXT, { ...spanContext, traceFlags: TraceFlags.NONE }), () => log.info('unsampled'));
      expect(lines[0]).toMatchObject({ msg: 'inside', trace_id: spanContext.traceId, span_id: spanContext.spanId });
      expect(lines[1]).not.toHaveProperty('trace_id');
      expect(lines[2]).not.toHaveProperty('trace_id');
    } finally {
      context.disable();
      manager.disable();
    }
  });
});
