import * as http from 'node:http';
import { freePort } from './moto';

export interface Signal {
  readonly Status: 'SUCCESS' | 'FAILURE';
  readonly Reason: string;
  readonly UniqueId: string;
  readonly Data: string;
}

/**
 * Stand-ins for what the signal function and the image handler reach besides
 * EC2: a wait condition handle (CloudFormation's pre-signed URL takes a PUT of
 * JSON with an empty content type; the stand-in records each signal) and
 * EventBridge's EnableRule / DisableRule (JSON protocol, `X-Amz-Target:
 * AWSEvents.<action>`; the stand-in records each rule's state). Not moto
 * bridges: neither is EC2.
 */
export class Signals {
  public readonly received: Signal[] = [];
  /** Rule name → state, as EnableRule and DisableRule left it. */
  public readonly rules = new Map<string, 'ENABLED' | 'DISABLED'>();
  /** Content types the handle received (CloudFormation's pre-signed URL is signed for an empty one). */
  public readonly contentTypes: string[] = [];
  private server?: http.Server;
  private url?: string;

  public get endpoint(): string {
    if (!this.url) throw new Error('signals not started');
    return this.url;
  }

  /** The handle's URL, as the signal function's HANDLE_URL. */
  public get handleUrl(): string {
    return `${this.endpoint}/handle?X-Amz-Signature=stand-in`;
  }

  public reset(): void {
    this.received.length = 0;
    this.contentTypes.length = 0;
    this.rules.clear();
  }

  public async start(): Promise<void> {
    const port = await freePort();
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf-8');
        if (req.method === 'PUT' && req.url?.startsWith('/handle')) {
          this.contentTypes.push(String(req.headers['content-type'] ?? ''));
          this.received.push(JSON.parse(body) as Signal);
          res.writeHead(200);
          res.end();
          return;
        }
        const target = String(req.headers['x-amz-target'] ?? '');
        const name = (JSON.parse(body || '{}') as { Name?: string }).Name ?? '';
        if (target === 'AWSEvents.EnableRule' || target === 'AWSEvents.DisableRule') {
          this.rules.set(name, target.endsWith('EnableRule') ? 'ENABLED' : 'DISABLED');
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
          res.end('{}');
          return;
        }
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: 'UnknownOperationException', message: `signals: ${target || req.method} is not emulated` }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${port}`;
  }

  public async stop(): Promise<void> {
    // The handlers' SDK clients keep their connections alive: close them, or the test worker cannot exit.
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
