import type { IncomingMessage, ServerResponse } from 'node:http';

/** The client went away while its body was being read: there is nobody left to answer. */
export class ClientClosedError extends Error {
  constructor() {
    super('Client closed the connection before its request body was read');
    this.name = 'ClientClosedError';
  }
}

/**
 * Reads the raw request body, whatever its content type, as one Buffer (undefined when empty),
 * holding no more than `limit` bytes: past them it stops reading and rejects with
 * `tooLarge(bytesSoFar)` (the addon's answer; the caller drains the rest after answering). A
 * declared length over the limit was refused before this is called.
 */
export function readRawBody(
  req: IncomingMessage,
  limit: number,
  tooLarge: (length: number) => Error,
): Promise<Buffer | undefined> {
  if (req.readableEnded || hasNoBody(req)) {
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
        reject(tooLarge(size));
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

/**
 * A request without content-length or transfer-encoding has no body (RFC 9112 6.3), nor has one
 * declaring length 0: nothing to wait for. Node dumps the unread end of such a request itself.
 */
function hasNoBody(req: IncomingMessage): boolean {
  const declared = req.headers['content-length'];
  return req.headers['transfer-encoding'] === undefined && (declared === undefined || declared === '0');
}

/** How much of a streamed body may wait in memory for the addon to take it. */
const STREAM_QUEUE_BYTES = 64 * 1024;

/** A request body on its way to the addon as a web stream. */
export interface StreamedBody {
  stream: ReadableStream<Uint8Array>;
  /**
   * Stops feeding the stream and drains what the client still sends. The addon drops a body it
   * refused, or that the upstream answered before reading to the end, without cancelling it.
   */
  release(): void;
}

/**
 * The request body as a web stream for the addon's `handleStream`, read only as fast as the
 * addon takes it. Unlike `Readable.toWeb`, which destroys the socket when the stream is
 * cancelled, it never cuts the connection: a body nobody reads to the end is drained (see
 * {@link discardRestOfBody}), so the client still gets the answer.
 */
export function streamRequestBody(req: IncomingMessage, res: ServerResponse): StreamedBody {
  let detach = () => {};
  const release = () => {
    detach();
    discardRestOfBody(req, res);
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const onData = (chunk: Buffer) => {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        };
        const onEnd = () => {
          detach();
          controller.close();
        };
        const onAbort = () => {
          detach();
          controller.error(new ClientClosedError());
        };
        detach = () => {
          req.off('data', onData);
          req.off('end', onEnd);
          req.off('error', onAbort);
          req.off('close', onAbort);
          req.pause();
        };
        req.on('data', onData);
        req.once('end', onEnd);
        req.once('error', onAbort);
        req.once('close', onAbort); // 'close' before 'end': the connection was lost mid-body
        req.pause();
      },
      pull() {
        req.resume();
      },
      cancel: release,
    },
    new ByteLengthQueuingStrategy({ highWaterMark: STREAM_QUEUE_BYTES }),
  );
  return { stream, release };
}

/** How long a refused body may keep arriving after the answer before the socket is cut. */
const DISCARD_LINGER_MS = 5_000;

/**
 * After refusing a body (411 or 413 from the addon, or an answer the upstream gave before reading it all), reads
 * and drops the rest instead of closing at once: closing a socket with unread input resets the
 * connection, and the client may then lose the answer itself. A client that keeps sending longer
 * than DISCARD_LINGER_MS after the answer loses its connection.
 */
export function discardRestOfBody(req: IncomingMessage, res: ServerResponse): void {
  if (req.readableEnded) return;
  const socket = req.socket;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (timer) clearTimeout(timer);
  };
  const linger = () => {
    if (req.readableEnded) return;
    timer = setTimeout(() => socket.destroy(), DISCARD_LINGER_MS);
    timer.unref();
  };
  req.once('end', stop);
  req.once('close', stop);
  if (res.writableFinished) linger();
  else res.once('finish', linger);
  req.resume();
}
