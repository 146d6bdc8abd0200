import type * as http from 'node:http';
import { Reply, serve, Served } from './serve';

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
  private served?: Served;

  public get endpoint(): string {
    if (!this.served) throw new Error('signals not started');
    return this.served.url;
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
    this.served = await serve((req, body) => this.answer(req, body), (e) => json(500, { __type: 'InternalException', message: String(e) }));
  }

  public async stop(): Promise<void> {
    await this.served?.stop();
  }

  private answer(req: http.IncomingMessage, body: string): Reply {
    if (req.method === 'PUT' && req.url?.startsWith('/handle')) {
      this.contentTypes.push(String(req.headers['content-type'] ?? ''));
      this.received.push(JSON.parse(body) as Signal);
      return { status: 200, body: '' };
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const name = (JSON.parse(body || '{}') as { Name?: string }).Name ?? '';
    if (target === 'AWSEvents.EnableRule' || target === 'AWSEvents.DisableRule') {
      this.rules.set(name, target.endsWith('EnableRule') ? 'ENABLED' : 'DISABLED');
      return json(200, {});
    }
    return json(400, { __type: 'UnknownOperationException', message: `signals: ${target || req.method} is not emulated` });
  }
}

function json(status: number, value: unknown): Reply {
  return { status, body: JSON.stringify(value), contentType: 'application/x-amz-json-1.1' };
}
