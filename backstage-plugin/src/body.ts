import type { IncomingMessage } from 'node:http';

/**
 * Largest request body the proxy reads into memory (the addon signs the whole body), for paths no
 * route matches; routes have their own `maxRequestBodyBytes` (same default, set by the addon).
 */
export const DEFAULT_BODY_LIMIT_BYTES = 10 * 1024 * 1024;

/** 413: the request body is larger than the limit. Shaped like the errors of @backstage/errors. */
export class PayloadTooLargeError extends Error {
  readonly statusCode = 413;
  /** The addon's code for the same refusal (it also checks, as a backstop). */
  readonly code = 'PAYLOAD_TOO_LARGE';

  constructor(limit: number) {
    super(`Request body is larger than the limit of ${limit} bytes`);
    this.name = 'PayloadTooLargeError';
  }
}

/** The client went away while its body was being read: there is nobody left to answer. */
export class ClientClosedError extends Error {
  constructor() {
    super('Client closed the connection before its request body was read');
    this.name = 'ClientClosedError';
  }
}

/**
 * Reads the raw request body, whatever its content type, as one Buffer (undefined when empty).
 * Rejects early from `content-length` and again while reading, so no more than `limit` bytes
 * are ever held. On overflow it stops reading (the caller answers 413 and closes the
 * connection, so the rest of the body is never drained).
 */
export function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(new PayloadTooLargeError(limit));
  }
  if (req.readableEnded) {
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        chunks.length = 0;
        reject(new PayloadTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(size === 0 ? undefined : Buffer.concat(chunks, size));
    };
    const onError = () => {
      cleanup();
      reject(new ClientClosedError());
    };
    const onClose = () => {
      // 'close' before 'end': the connection was lost mid-body.
      cleanup();
      reject(new ClientClosedError());
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
  });
}
