import * as http from 'node:http';
import { freePort } from './moto';

export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
}

export interface Served {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Closes the kept-alive connections (the handlers' SDK clients keep theirs), then the server. */
  stop(): Promise<void>;
}

/** An HTTP server on a free loopback port that hands each request, with its whole body, to `handle`. */
export async function serve(handle: (req: http.IncomingMessage, body: string) => Reply | Promise<Reply>, onError: (e: unknown) => Reply): Promise<Served> {
  const port = await freePort();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void Promise.resolve()
        .then(() => handle(req, Buffer.concat(chunks).toString('utf-8')))
        .catch(onError)
        .then(({ status, body, contentType }) => {
          res.writeHead(status, { 'content-type': contentType ?? 'text/xml' });
          res.end(body);
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
