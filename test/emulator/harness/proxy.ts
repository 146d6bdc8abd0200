import * as http from 'node:http';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { Answer } from './image-states';
import { serve, Served } from './serve';
import { errorXml } from './xml';

/** Credentials and region moto accepts; nothing here reaches AWS. */
export const EMULATOR_REGION = 'us-east-1';
export const EMULATOR_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/**
 * An HTTP server speaking EC2's query protocol on a loopback port, that hands
 * each request to {@link handle} and can forward it to moto_server.
 */
export abstract class Ec2Proxy {
  private readonly clients = new Map<string, EC2Client>();
  private served?: Served;

  constructor(private readonly motoEndpoint: string) {}

  /** A client that talks to moto directly, in `region`. */
  public moto(region: string = EMULATOR_REGION): EC2Client {
    let client = this.clients.get(region);
    if (!client) {
      client = new EC2Client({ region, endpoint: this.motoEndpoint, credentials: EMULATOR_CREDENTIALS });
      this.clients.set(region, client);
    }
    return client;
  }

  /** Where clients send EC2 calls. */
  public get endpoint(): string {
    if (!this.served) throw new Error('bridge not started');
    return this.served.url;
  }

  public async start(): Promise<void> {
    this.served = await serve((req, body) => this.handle(req, body), (e) => ({ status: 500, body: errorXml('InternalError', `bridge: ${String(e)}`) }));
  }

  public async stop(): Promise<void> {
    for (const client of this.clients.values()) client.destroy();
    await this.served?.stop();
  }

  public forward(req: http.IncomingMessage, params: URLSearchParams): Promise<Answer> {
    const body = params.toString();
    return new Promise((resolve, reject) => {
      const upstream = http.request(`${this.motoEndpoint}${req.url ?? '/'}`, {
        method: req.method,
        headers: { ...req.headers, 'content-length': Buffer.byteLength(body), host: new URL(this.motoEndpoint).host },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 500, body: Buffer.concat(chunks).toString('utf-8') }));
      });
      upstream.on('error', reject);
      upstream.end(body);
    });
  }

  protected abstract handle(req: http.IncomingMessage, body: string): Promise<Answer>;
}
