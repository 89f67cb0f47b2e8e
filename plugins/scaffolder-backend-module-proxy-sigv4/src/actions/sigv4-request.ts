import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import type { AwsSigV4Service } from 'backstage-plugin-proxy-sigv4-node';
import { signedCall } from '../aws/signed-call';
import type { Signing } from '../aws/signed-call';

/** The largest response body the action reads into its output (task outputs live in the database). */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * `aws:sigv4:request`: one request to an AWS API, signed with SigV4, through a `proxysigv4` route
 * (its credentials and policy) or to a URL (the default chain, or a role
 * `proxysigv4.signer.allowedRoles` lists). The answer's status, headers and body are the output;
 * the request's signature and credentials never are, nor do they reach the log.
 */
export function createSigV4RequestAction(aws: AwsSigV4Service) {
  return createTemplateAction({
    id: 'aws:sigv4:request',
    description:
      'Sends a request signed with AWS Signature Version 4, through a proxysigv4 route or to an AWS URL, and outputs the answer',
    examples: [
      {
        description: 'Start a job through the proxysigv4 route /jobs-api',
        example: [
          'steps:',
          '  - id: start',
          '    action: aws:sigv4:request',
          '    input:',
          '      route: /jobs-api',
          '      path: /jobs',
          '      method: POST',
          '      body: { name: ${{ parameters.name }} }',
        ].join('\n'),
      },
    ],
    schema: {
      input: (z) =>
        z.object({
          route: z.string().optional().describe('A proxysigv4 route key, e.g. /jobs-api: its credentials and policy apply'),
          path: z.string().optional().describe("With route: the path and query below the route's target, e.g. /jobs?all=1"),
          url: z.string().optional().describe('Instead of route: the absolute URL of an AWS API'),
          roleArn: z.string().optional().describe('With url: sign as this role (it must be in proxysigv4.signer.allowedRoles)'),
          service: z.string().optional().describe('With url: the service to sign for; inferred from the host when omitted'),
          region: z.string().optional().describe('With url: the region to sign for; inferred from the host when omitted'),
          method: z.string().optional().describe('Default GET'),
          headers: z.record(z.string()).optional(),
          body: z.any().optional().describe('A string is sent as it is; anything else as JSON'),
          failOnError: z.boolean().optional().describe('Fail the step on a status of 400 or more (default true)'),
        }),
      output: (z) =>
        z.object({
          status: z.number(),
          headers: z.record(z.string()),
          body: z.any().describe('Parsed JSON when the answer is JSON, else text'),
        }),
    },
    async handler(ctx) {
      const { route, path, url, roleArn, service, region, failOnError = true } = ctx.input;
      const method = (ctx.input.method ?? 'GET').toUpperCase();
      if ((route === undefined) === (url === undefined)) throw new InputError('give either route or url');
      if (route !== undefined && (roleArn ?? service ?? region) !== undefined) {
        throw new InputError("roleArn, service and region go with url; a route signs with its own");
      }
      const { headers, body } = requestBody(ctx.input.headers ?? {}, ctx.input.body);
      const target = route !== undefined ? `route ${route}${pathOnly(path ?? '')}` : pathOnly(url!);
      ctx.logger.info(`${method} ${target}`);

      const answer =
        route !== undefined
          ? await aws.fetch(route, path ?? '', { method, headers, body, signal: ctx.signal })
          : await sendToUrl(aws, { method, url: url!, headers, body }, { roleArn, service, region }, ctx.signal);
      const text = await readText(answer);
      ctx.logger.info(`${method} ${target} answered ${answer.status}`);
      if (failOnError && answer.status >= 400) {
        throw new Error(`${method} ${target} answered ${answer.status}: ${text.slice(0, 500)}`);
      }
      ctx.output('status', answer.status);
      ctx.output('headers', outputHeaders(answer.headers));
      ctx.output('body', isJson(answer.headers) && text !== '' ? JSON.parse(text) : text);
    },
  });
}

/** A URL request: signed by the service, sent with fetch, answered as a Response. */
async function sendToUrl(
  aws: AwsSigV4Service,
  request: { method: string; url: string; headers: Record<string, string>; body?: string },
  signing: Signing,
  signal?: AbortSignal,
): Promise<Response> {
  const result = await signedCall(aws, request, signing, signal);
  return new Response(result.status === 204 || result.status === 304 ? null : result.text, { status: result.status, headers: result.headers });
}

/** The body as sent: strings as they are, anything else as JSON (with its content type). */
function requestBody(headers: Record<string, string>, body: unknown): { headers: Record<string, string>; body?: string } {
  if (body === undefined || typeof body === 'string') return { headers, body };
  const typed = Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
  return { headers: typed ? headers : { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

async function readText(response: Response): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_BODY_BYTES) {
    await response.body?.cancel();
    throw new Error(`the answer is ${declared} bytes, more than the ${MAX_BODY_BYTES} a task output holds`);
  }
  const text = await response.text();
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new Error(`the answer is more than the ${MAX_BODY_BYTES} bytes a task output holds`);
  return text;
}

/** Response headers for the output, without Set-Cookie (a session of the API's, not the task's). */
function outputHeaders(headers: Headers): Record<string, string> {
  return Object.fromEntries([...headers].filter(([name]) => name !== 'set-cookie'));
}

function isJson(headers: Headers): boolean {
  return /^application\/([\w.+-]*\+)?json\b|^application\/x-amz-json/i.test(headers.get('content-type') ?? '');
}

/** A URL or path without its query, for the log: a query may hold a signature or a token. */
function pathOnly(target: string): string {
  const query = target.indexOf('?');
  return query < 0 ? target : target.slice(0, query);
}
