// Metrics through Backstage's own MetricsService (backend-defaults' factory over the global
// OpenTelemetry meter), read with the OpenTelemetry SDK's in-memory collection: requests by
// route, method and status class; errors by code; upstream connect time, time to headers and
// open connections recorded in the addon; credential fetches, failures and age; STS calls.
//
// A file of its own on purpose: it installs the process's global meter provider, and points
// STS at a closed port before the addon first reads its environment.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import { metricsServiceFactory } from '@backstage/backend-defaults/alpha';
import { bearer, closedPort, routeTo, startProxyBackend, startUpstream, USER_TOKEN } from './testing/harness';
import type { TestProxyBackend, VerifyingUpstream } from './testing/harness';

/** Collects on demand, as an exporter's periodic reader would. */
class TestReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

describe('metrics through the MetricsService, read by the OpenTelemetry SDK', { timeout: 60_000 }, () => {
  const reader = new TestReader();
  let upstream: VerifyingUpstream;
  let backend: TestProxyBackend;

  before(async () => {
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    process.env.AWS_ENDPOINT_URL_STS = `http://127.0.0.1:${await closedPort()}`;
    upstream = await startUpstream();
    backend = await startProxyBackend(
      {
        proxysigv4: {
          '/api': routeTo(upstream),
          '/gone': { ...routeTo(upstream), target: `http://127.0.0.1:${await closedPort()}` },
          '/role': {
            ...routeTo(upstream),
            roleArn: 'arn:aws:iam::123456789012:role/unreachable',
            credentialTimeout: '2s',
          },
        },
      },
      { features: [metricsServiceFactory] },
    );
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
    delete process.env.AWS_ENDPOINT_URL_STS;
  });

  async function collect(): Promise<Map<string, MetricData>> {
    // The first collection turns recording of upstream samples on in the addon.
    const { resourceMetrics } = await reader.collect();
    return new Map(resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).map((m) => [m.descriptor.name, m]));
  }

  function point<T>(metric: MetricData | undefined, attributes: Record<string, unknown>): DataPoint<T> | undefined {
    const points = (metric?.dataPoints ?? []) as DataPoint<T>[];
    return points.find((p) => Object.entries(attributes).every(([key, value]) => p.attributes[key] === value));
  }

  async function get(path: string): Promise<number> {
    const res = await fetch(`${backend.baseUrl}${path}`, { headers: bearer(USER_TOKEN) });
    await res.arrayBuffer();
    return res.status;
  }

  it('records requests, errors, upstream timing, connections and credentials', async () => {
    await collect();
    assert.equal(await get('/api/a'), 200);
    assert.equal(await get('/api/b'), 200);
    assert.equal(await get('/gone/x'), 502);
    assert.equal(await get('/role/x'), 503);
    assert.equal(await get('/nowhere'), 404);
    // The close handler records a request once its response is over.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const seen = await collect();

    const requests = seen.get('proxysigv4.request.duration');
    const ok = point<Histogram>(requests, {
      'proxysigv4.route': '/api',
      'http.request.method': 'GET',
      'http.response.status_class': '2xx',
    });
    assert.equal(ok?.value.count, 2, JSON.stringify(requests?.dataPoints));
    assert.equal(requests?.descriptor.unit, 's');
    assert.equal(point<Histogram>(requests, { 'proxysigv4.route': '/gone', 'http.response.status_class': '5xx' })?.value.count, 1);
    assert.equal(point<Histogram>(requests, { 'proxysigv4.route': 'none', 'http.response.status_class': '4xx' })?.value.count, 1);

    const errors = seen.get('proxysigv4.errors');
    assert.equal(point<number>(errors, { 'proxysigv4.route': '/gone', 'error.type': 'UPSTREAM_UNREACHABLE' })?.value, 1);
    assert.equal(point<number>(errors, { 'proxysigv4.route': '/role', 'error.type': 'CREDENTIALS_UNAVAILABLE' })?.value, 1);

    const host = '127.0.0.1';
    const connects = seen.get('proxysigv4.upstream.connect.duration');
    // One keep-alive connection for both GETs to /api, one refused connection for /gone.
    assert.equal(point<Histogram>(connects, { 'server.address': host, outcome: 'success' })?.value.count, 1);
    assert.equal(point<Histogram>(connects, { 'server.address': host, outcome: 'failure' })?.value.count, 1);
    const firstByte = point<Histogram>(seen.get('proxysigv4.upstream.first_byte.duration'), { 'proxysigv4.route': '/api' });
    assert.equal(firstByte?.value.count, 2);
    assert.ok((firstByte?.value.sum ?? 0) > 0);
    assert.equal(point<number>(seen.get('proxysigv4.upstream.connections.open'), { 'server.address': host })?.value, 1);

    const fetches = seen.get('proxysigv4.credentials.fetches');
    assert.equal(point<number>(fetches, { 'proxysigv4.route': '/api', outcome: 'success' })?.value, 1);
    assert.equal(point<number>(fetches, { 'proxysigv4.route': '/role', outcome: 'failure' })?.value, 1);
    const sts = seen.get('proxysigv4.sts.calls');
    assert.equal(point<number>(sts, { 'proxysigv4.route': '/role', outcome: 'failure' })?.value, 1);
    assert.equal(point<number>(sts, { 'proxysigv4.route': '/api' }), undefined, 'no STS for the default chain');
    const age = point<number>(seen.get('proxysigv4.credentials.age'), { 'proxysigv4.route': '/api' });
    assert.ok(age !== undefined && age.value >= 0 && age.value < 60, JSON.stringify(age));
  });
});
