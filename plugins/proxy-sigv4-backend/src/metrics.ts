import { metrics as otelMetrics } from '@opentelemetry/api';
import { openConnections, startMetricsRecording, takeUpstreamSamples } from 'proxy-sigv4-native';
import type { SigV4Proxy } from 'proxy-sigv4-native';

/**
 * The instruments this plugin needs, as both Backstage's MetricsService
 * (`@backstage/backend-plugin-api/alpha`) and an OpenTelemetry `Meter` offer them.
 */
export interface MeterLike {
  createHistogram(name: string, options?: InstrumentOptions): { record(value: number, attributes?: Attributes): void };
  createCounter(name: string, options?: InstrumentOptions): { add(value: number, attributes?: Attributes): void };
  createObservableCounter(name: string, options?: InstrumentOptions): Observable;
  createObservableGauge(name: string, options?: InstrumentOptions): Observable;
}

type Attributes = Record<string, string | number | boolean | undefined>;
interface InstrumentOptions {
  description?: string;
  unit?: string;
  advice?: { explicitBucketBoundaries?: number[] };
}
interface Observable {
  addCallback(callback: (result: { observe(value: number, attributes?: Attributes): void }) => void): void;
}

/** What the router tells the metrics at the end of each request (no crossing into the addon). */
export interface FinishedRequest {
  /** The route key, or undefined when no route matched. */
  route?: string;
  method: string;
  status: number;
  seconds: number;
  /** The stable code of the proxy's own error answer, if any. */
  code?: string;
}

export interface ProxyMetrics {
  recordRequest(request: FinishedRequest): void;
}

/** Methods recorded by name; any other is `_OTHER`, so callers cannot grow the attribute set. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** Seconds, from 1 ms to 60 s: what a proxy's latencies span. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The meter of the app's OpenTelemetry set-up, for hosts without Backstage's MetricsService. */
export function globalMeter(): MeterLike {
  return otelMetrics.getMeter('backstage-plugin-proxy-sigv4-backend');
}

/**
 * Creates the plugin's instruments on `meter`. Requests are recorded by the router as they
 * finish; upstream samples (connect time, time to headers) are recorded in the addon and
 * taken in one batch at each collection, with the credential state of `proxy()`'s routes.
 */
export function createProxyMetrics(meter: MeterLike, proxy: () => SigV4Proxy): ProxyMetrics {
  const seconds = (description: string) => ({ description, unit: 's', advice: { explicitBucketBoundaries: LATENCY_BUCKETS } });
  const requestDuration = meter.createHistogram(
    'proxysigv4.request.duration',
    seconds('Requests through the proxy, from arrival to the end of the response (its count is the request count)'),
  );
  const errors = meter.createCounter('proxysigv4.errors', {
    description: "Requests the proxy answered with an error of its own, by stable code (error.type)",
  });
  const connectDuration = meter.createHistogram(
    'proxysigv4.upstream.connect.duration',
    seconds('New upstream connections: DNS, TCP and TLS'),
  );
  const firstByte = meter.createHistogram(
    'proxysigv4.upstream.first_byte.duration',
    seconds("From sending a request upstream to the upstream's response headers"),
  );
  const connectionsOpen = meter.createObservableGauge('proxysigv4.upstream.connections.open', {
    description: 'Upstream connections open now (pooled or in use)',
  });
  const credentialFetches = meter.createObservableCounter('proxysigv4.credentials.fetches', {
    description: "Calls to a route's credential source, by outcome",
  });
  const credentialAge = meter.createObservableGauge('proxysigv4.credentials.age', {
    description: "How long ago a route's cached credentials were fetched",
    unit: 's',
  });
  const stsCalls = meter.createObservableCounter('proxysigv4.sts.calls', {
    description: 'STS AssumeRole calls for a route with roleArn, by outcome',
  });

  connectionsOpen.addCallback((result) => {
    // The addon keeps samples only once someone collects: without a metrics SDK in the app
    // (a no-op meter never calls back) nothing is recorded at all.
    startMetricsRecording();
    // Collection time: hand the addon's samples to the histograms in one batch. The SDK runs
    // these callbacks before it reads the histograms, so they land in this collection.
    const samples = takeUpstreamSamples();
    for (const s of samples.connects) {
      connectDuration.record(s.seconds, { 'server.address': s.host, outcome: s.ok ? 'success' : 'failure' });
    }
    for (const s of samples.firstBytes) firstByte.record(s.seconds, { 'proxysigv4.route': s.route });
    for (const open of openConnections()) result.observe(open.count, { 'server.address': open.host });
  });
  credentialFetches.addCallback((result) => {
    for (const { route, credentials } of proxy().routeStatuses()) {
      result.observe(credentials.fetched, { 'proxysigv4.route': route, outcome: 'success' });
      result.observe(credentials.failed, { 'proxysigv4.route': route, outcome: 'failure' });
    }
  });
  stsCalls.addCallback((result) => {
    for (const { route, credentials } of proxy().routeStatuses()) {
      if (!credentials.assumeRole) continue;
      result.observe(credentials.fetched, { 'proxysigv4.route': route, outcome: 'success' });
      result.observe(credentials.failed, { 'proxysigv4.route': route, outcome: 'failure' });
    }
  });
  credentialAge.addCallback((result) => {
    for (const { route, credentials } of proxy().routeStatuses()) {
      if (credentials.ageSeconds !== undefined && credentials.ageSeconds !== null) {
        result.observe(credentials.ageSeconds, { 'proxysigv4.route': route });
      }
    }
  });

  return {
    recordRequest({ route, method, status, seconds: took, code }) {
      const attributes = {
        'proxysigv4.route': route ?? 'none',
        'http.request.method': KNOWN_METHODS.has(method) ? method : '_OTHER',
        'http.response.status_class': `${Math.floor(status / 100)}xx`,
      };
      requestDuration.record(took, attributes);
      if (code) errors.add(1, { 'proxysigv4.route': route ?? 'none', 'error.type': code });
    },
  };
}
