import { CancelSignal } from 'proxy-sigv4-native';
import type { ProxyErrorInfo, ProxyResponse, SigV4Proxy } from 'proxy-sigv4-native';
import type { RouteRequestBody, RouteRequestInit } from './types';

/** Statuses whose responses have no body (the Response constructor refuses one). */
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/**
 * A request through route `route` of `proxy`, as the HTTP router would send it: the addon
 * decides the route's policy; this only shapes the request and the answer.
 */
export async function fetchThroughRoute(
  proxy: SigV4Proxy,
  route: string,
  path: string,
  init: RouteRequestInit = {},
): Promise<Response> {
  const method = (init.method ?? 'GET').toUpperCase();
  const url = `${route}${path}`;
  const answerWith = (info: ProxyErrorInfo, headers: string[] = []) => errorResponse(info, method, url, headers);
  if (!proxy.routes.includes(route)) {
    return answerWith(refusal(404, 'NotFoundError', 'ROUTE_NOT_FOUND', `'${route}' is not a proxysigv4 route`));
  }
  if (path !== '' && !path.startsWith('/') && !path.startsWith('?')) {
    return answerWith(refusal(400, 'InputError', 'BAD_PATH', "path must be empty or start with '/' or '?'"));
  }
  const headers = flatHeaders(init.headers);
  const stream = init.body instanceof ReadableStream ? init.body : undefined;
  const bytes = stream ? undefined : bodyBytes(init.body as Exclude<RouteRequestBody, ReadableStream> | undefined);
  const declared = bytes ? String(bytes.length) : headerValue(headers, 'content-length');
  const plan = proxy.planRequest(url, declared, stream !== undefined && declared === undefined);
  if (plan.refusal) return answerWith(plan.refusal);
  // The longest route key wins: a path below a nested route must not reach it by this route's name.
  const chosen = plan.route >= 0 ? proxy.routeInfos[plan.route]?.key : route;
  if (chosen !== route) {
    return answerWith(refusal(400, 'InputError', 'BAD_PATH', `the path belongs to route '${chosen}'; fetch through that route`));
  }
  const cancel = new CancelSignal();
  init.signal?.throwIfAborted();
  init.signal?.addEventListener('abort', () => cancel.cancel(), { once: true });
  const request = { method, url, headers };
  let answer: ProxyResponse;
  if (plan.streamLength !== undefined) {
    const body = stream ?? new Blob([bytes ?? new Uint8Array()]).stream();
    answer = await proxy.handleStream(plan.route, request, plan.streamLength, body, cancel);
  } else {
    const body = bytes ?? (stream ? await readWhole(stream, plan.bodyLimit) : undefined);
    if (body === null) return answerWith(proxy.bodyRefusal(plan.route, plan.bodyLimit + 1)!);
    answer = await proxy.handle(plan.route, { ...request, body }, cancel);
  }
  if (answer.error) return answerWith(answer.error, answer.headers);
  return upstreamResponse(answer);
}

function upstreamResponse(answer: ProxyResponse): Response {
  const complete = answer.takeCompleteBody();
  const stream = complete ? undefined : answer.takeBody();
  if (NULL_BODY_STATUSES.has(answer.status)) {
    void stream?.cancel();
    return new Response(null, { status: answer.status, headers: pairs(answer.headers) });
  }
  return new Response(complete ?? stream ?? null, { status: answer.status, headers: pairs(answer.headers) });
}

/** Backstage's error JSON (what the plugin's router answers), with the addon's status, name and code. */
function errorResponse(info: ProxyErrorInfo, method: string, url: string, headers: string[]): Response {
  const body = {
    error: { name: info.name, message: info.message, code: info.code },
    request: { method, url },
    response: { statusCode: info.status },
  };
  const answer = new Headers(pairs(headers));
  answer.set('content-type', 'application/json; charset=utf-8');
  return new Response(JSON.stringify(body), { status: info.status, headers: answer });
}

function refusal(status: number, name: string, code: string, message: string): ProxyErrorInfo {
  return { status, name, code, message };
}

function flatHeaders(headers: RouteRequestInit['headers']): string[] {
  if (headers === undefined) return [];
  const entries = headers instanceof Headers ? [...headers] : Array.isArray(headers) ? headers : Object.entries(headers);
  return entries.flatMap(([name, value]) => [name, value]);
}

function headerValue(flat: string[], name: string): string | undefined {
  for (let i = 0; i < flat.length; i += 2) if (flat[i].toLowerCase() === name) return flat[i + 1];
  return undefined;
}

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

export function bodyBytes(body: string | Uint8Array | ArrayBuffer | undefined): Buffer | undefined {
  if (body === undefined) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** The stream's bytes, or null past `limit` (the stream is then cancelled). */
async function readWhole(stream: ReadableStream<Uint8Array>, limit: number): Promise<Buffer | null> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks, size);
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
}
