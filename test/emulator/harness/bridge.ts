import * as http from 'node:http';
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  EC2Client,
  Tag,
} from '@aws-sdk/client-ec2';
import { freePort } from './moto';

/** Credentials and region moto accepts; nothing here reaches AWS. */
export const EMULATOR_REGION = 'us-east-1';
export const EMULATOR_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

interface Fault {
  readonly action: string;
  readonly code: string;
  readonly status: number;
  remaining: number;
}

/**
 * An EC2 query-protocol proxy in front of moto_server. It closes moto's gaps
 * with real EC2 (each bridge below is named `BRIDGE n`), counts the calls per
 * action, and injects the faults and image states real EC2 shows.
 *
 * The product code talks to it exactly as to EC2 (`AWS_ENDPOINT_URL_EC2`);
 * nothing in lib/ knows about moto.
 *
 * Not bridged, on purpose: moto ignores DeregisterImage's
 * `DeleteAssociatedSnapshots`. That is exactly what a Lambda runtime whose SDK
 * predates the parameter does, so the emulator tier proves the handler's own
 * snapshot deletion.
 */
export class Ec2Bridge {
  /** Calls received per EC2 action (including the ones a fault answered). */
  public readonly calls: Record<string, number> = {};
  /** DescribeImages calls that asked for image ids (the isComplete poll). */
  public describeByIdCalls = 0;

  /** Each image created from now on reports `pending` for this many DescribeImages-by-id calls. */
  public pendingDescribes = 0;
  /** Each image created from now on answers InvalidAMIID.NotFound for this many DescribeImages-by-id calls. */
  public notFoundDescribes = 0;
  /** Each image created from now on reports `failed` with this reason. */
  public failWith?: { code: string; message: string };

  private readonly pending = new Map<string, number>();
  private readonly notFound = new Map<string, number>();
  private readonly failed = new Map<string, { code: string; message: string }>();
  /** Images made to require IMDSv2 by ModifyImageAttribute (BRIDGE 5). */
  public readonly imdsV2Images = new Set<string>();
  /** Snapshot ids that RegisterImage was asked to use, per registered image (BRIDGE 6). */
  private readonly registered = new Map<string, string[]>();
  private readonly faults: Fault[] = [];
  /** DeprecateAt per image (BRIDGE 9). */
  private readonly deprecations = new Map<string, string>();
  /** Copies per `<source image>/<region>/<client token>` (BRIDGE 7). */
  private readonly copiesByToken = new Map<string, string>();
  private readonly clients = new Map<string, EC2Client>();
  private server?: http.Server;
  private url?: string;

  constructor(private readonly motoEndpoint: string) {}

  /** A client that talks to moto directly, in `region`. */
  private moto(region: string = EMULATOR_REGION): EC2Client {
    let client = this.clients.get(region);
    if (!client) {
      client = new EC2Client({ region, endpoint: this.motoEndpoint, credentials: EMULATOR_CREDENTIALS });
      this.clients.set(region, client);
    }
    return client;
  }

  /** Where clients send EC2 calls. */
  public get endpoint(): string {
    if (!this.url) throw new Error('bridge not started');
    return this.url;
  }

  /** Answer the next `times` calls of `action` with an EC2 error instead of forwarding them. */
  public injectFault(action: string, code: string, status: number, times: number): void {
    this.faults.push({ action, code, status, remaining: times });
  }

  /** Forget knobs, faults and counters between scenarios. */
  public reset(): void {
    for (const key of Object.keys(this.calls)) delete this.calls[key];
    this.describeByIdCalls = 0;
    this.pendingDescribes = 0;
    this.notFoundDescribes = 0;
    this.failWith = undefined;
    this.faults.length = 0;
  }

  public async start(): Promise<void> {
    const port = await freePort();
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.handle(req, Buffer.concat(chunks).toString('utf-8'))
          .then(({ status, body }) => {
            res.writeHead(status, { 'content-type': 'text/xml' });
            res.end(body);
          })
          .catch((e: unknown) => {
            res.writeHead(500, { 'content-type': 'text/xml' });
            res.end(errorXml('InternalError', `bridge: ${String(e)}`));
          });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${port}`;
  }

  public async stop(): Promise<void> {
    for (const client of this.clients.values()) client.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: http.IncomingMessage, body: string): Promise<{ status: number; body: string }> {
    const params = new URLSearchParams(body);
    const action = params.get('Action') ?? '';
    // The region is in the SigV4 credential scope: <key>/<date>/<region>/ec2/aws4_request.
    const region = /Credential=[^/]+\/\d+\/([a-z0-9-]+)\//.exec(String(req.headers.authorization))?.[1] ?? EMULATOR_REGION;
    this.calls[action] = (this.calls[action] ?? 0) + 1;

    const fault = this.faults.find((f) => f.action === action && f.remaining > 0);
    if (fault) {
      fault.remaining--;
      return { status: fault.status, body: errorXml(fault.code, `injected by the test bridge (${fault.remaining} more)`) };
    }

    switch (action) {
      case 'CreateImage':
        return this.createImage(req, params);
      case 'DescribeImages':
        return this.describeImages(req, params, region);
      case 'CopyImage':
        return this.copyImage(req, params, region);
      case 'EnableImageDeprecation':
        // BRIDGE 9: moto answers HTTP 500 to the deprecation actions; record them and report DeprecationTime.
        this.deprecations.set(params.get('ImageId') ?? '', params.get('DeprecateAt') ?? '');
        return { status: 200, body: okXml('EnableImageDeprecation') };
      case 'DisableImageDeprecation':
        this.deprecations.delete(params.get('ImageId') ?? '');
        return { status: 200, body: okXml('DisableImageDeprecation') };
      case 'ModifyImageAttribute':
        // BRIDGE 5: moto accepts ImdsSupport but does not record it; DescribeImages reports it from here.
        if (params.get('ImdsSupport.Value') === 'v2.0') this.imdsV2Images.add(params.get('ImageId') ?? '');
        return this.forward(req, params);
      case 'RegisterImage':
        return this.registerImage(req, params);
      case 'DeregisterImage': {
        const response = await this.forward(req, params);
        if (response.status === 200) this.registered.delete(params.get('ImageId') ?? '');
        return response;
      }
      case 'DeleteSnapshot': {
        const snapshotId = params.get('SnapshotId') ?? '';
        const user = [...this.registered].find(([, snapshots]) => snapshots.includes(snapshotId));
        if (user) {
          return { status: 400, body: errorXml('InvalidSnapshot.InUse', `The snapshot ${snapshotId} is currently in use by ${user[0]}`) };
        }
        return this.forward(req, params);
      }
      default:
        return this.forward(req, params);
    }
  }

  /**
   * BRIDGE 6: moto's RegisterImage ignores the snapshot ids in
   * BlockDeviceMappings and makes new snapshots. EC2 registers the image on the
   * given snapshots: remember them, so that DescribeImages' snapshot filter and
   * DeleteSnapshot (InvalidSnapshot.InUse) see the sharing as EC2 would.
   */
  private async registerImage(req: http.IncomingMessage, params: URLSearchParams): Promise<{ status: number; body: string }> {
    const snapshots = [...params.entries()].filter(([k]) => /^BlockDeviceMapping\.\d+\.Ebs\.SnapshotId$/.test(k)).map(([, v]) => v);
    const response = await this.forward(req, params);
    const imageId = /<imageId>(ami-[0-9a-f]+)<\/imageId>/.exec(response.body)?.[1];
    if (response.status === 200 && imageId && snapshots.length > 0) this.registered.set(imageId, snapshots);
    return response;
  }

  private async createImage(req: http.IncomingMessage, params: URLSearchParams): Promise<{ status: number; body: string }> {
    const name = params.get('Name') ?? '';
    // BRIDGE 2: moto accepts a second image with a name already in use; EC2 refuses it.
    const { Images } = await this.moto().send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] }));
    if (Images && Images.length > 0) {
      return { status: 400, body: errorXml('InvalidAMIName.Duplicate', `AMI name ${name} is already in use by AMI ${Images[0].ImageId}`) };
    }

    // BRIDGE 1: moto answers HTTP 500 to a `snapshot` TagSpecification. Strip it,
    // let moto make the image, then tag the image's snapshots as EC2 would have.
    const snapshotTags = takeTagSpecification(params, 'snapshot');
    const response = await this.forward(req, params);
    const imageId = /<imageId>(ami-[0-9a-f]+)<\/imageId>/.exec(response.body)?.[1];
    if (response.status !== 200 || !imageId) return response;
    await this.tagSnapshots(imageId, snapshotTags, EMULATOR_REGION);
    // BRIDGE 3: moto's images are available at once; EC2's are pending for minutes, or fail.
    if (this.pendingDescribes > 0) this.pending.set(imageId, this.pendingDescribes);
    if (this.notFoundDescribes > 0) this.notFound.set(imageId, this.notFoundDescribes);
    if (this.failWith) this.failed.set(imageId, this.failWith);
    return response;
  }

  private async tagSnapshots(imageId: string, tags: Tag[], region: string): Promise<void> {
    if (tags.length === 0) return;
    const image = (await this.moto(region).send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
    const snapshots = (image?.BlockDeviceMappings ?? []).map((m) => m.Ebs?.SnapshotId).filter((s): s is string => !!s);
    if (snapshots.length > 0) {
      await this.moto(region).send(new CreateTagsCommand({ Resources: snapshots, Tags: tags }));
    }
  }

  private async copyImage(req: http.IncomingMessage, params: URLSearchParams, region: string): Promise<{ status: number; body: string }> {
    // BRIDGE 7: moto ignores CopyImage's ClientToken; EC2 answers a repeated request with the first copy.
    const token = `${params.get('SourceImageId')}/${region}/${params.get('ClientToken') ?? ''}`;
    const earlier = params.get('ClientToken') ? this.copiesByToken.get(token) : undefined;
    if (earlier) {
      return { status: 200, body: `<?xml version="1.0" encoding="UTF-8"?><CopyImageResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>bridge</requestId><imageId>${earlier}</imageId></CopyImageResponse>` };
    }
    // BRIDGE 8: moto accepts CopyImage's TagSpecifications but applies none; apply them as EC2 does.
    const imageTags = takeTagSpecification(params, 'image');
    const snapshotTags = takeTagSpecification(params, 'snapshot');
    const response = await this.forward(req, params);
    const imageId = /<imageId>(ami-[0-9a-f]+)<\/imageId>/.exec(response.body)?.[1];
    if (response.status !== 200 || !imageId) return response;
    if (params.get('ClientToken')) this.copiesByToken.set(token, imageId);
    if (imageTags.length > 0) await this.moto(region).send(new CreateTagsCommand({ Resources: [imageId], Tags: imageTags }));
    await this.tagSnapshots(imageId, snapshotTags, region);
    return response;
  }

  private async describeImages(req: http.IncomingMessage, params: URLSearchParams, region: string): Promise<{ status: number; body: string }> {
    const ids = [...params.entries()].filter(([k]) => /^ImageId\.\d+$/.test(k)).map(([, v]) => v);
    const filters = readFilters(params);

    // BRIDGE 4: moto answers HTTP 500 to the `block-device-mapping.snapshot-id` filter; answer it from moto's image list.
    const bySnapshot = filters.get('block-device-mapping.snapshot-id');
    if (bySnapshot) {
      const { Images } = await this.moto(region).send(new DescribeImagesCommand({ Owners: ['self'] }));
      const all = [
        ...(Images ?? []).map((i) => ({ imageId: i.ImageId!, snapshotIds: (i.BlockDeviceMappings ?? []).map((m) => m.Ebs?.SnapshotId ?? '') })),
        ...[...this.registered].map(([imageId, snapshotIds]) => ({ imageId, snapshotIds })),
      ];
      return { status: 200, body: imagesXml(all.filter((i) => i.snapshotIds.some((id) => bySnapshot.includes(id)))) };
    }

    if (ids.length > 0) {
      this.describeByIdCalls++;
    }
    // BRIDGE 3 (eventual consistency): EC2 may not know an image id for a while after CreateImage.
    for (const id of ids) {
      const left = this.notFound.get(id) ?? 0;
      if (left > 0) {
        this.notFound.set(id, left - 1);
        return { status: 400, body: errorXml('InvalidAMIID.NotFound', `The image id '[${id}]' does not exist`) };
      }
    }

    const response = await this.forward(req, params);
    if (response.status !== 200 || ids.length !== 1) return response;
    const id = ids[0];
    let body = response.body;
    const failure = this.failed.get(id);
    const pendingLeft = this.pending.get(id) ?? 0;
    if (failure) {
      body = body.replace('<imageState>available</imageState>',
        `<imageState>failed</imageState><stateReason><code>${failure.code}</code><message>${failure.message}</message></stateReason>`);
    } else if (pendingLeft > 0) {
      this.pending.set(id, pendingLeft - 1);
      body = body.replace('<imageState>available</imageState>', '<imageState>pending</imageState>');
    }
    const deprecateAt = this.deprecations.get(id);
    if (deprecateAt) {
      body = body.replace(`<imageId>${id}</imageId>`, `<imageId>${id}</imageId><deprecationTime>${deprecateAt}</deprecationTime>`);
    }
    if (this.imdsV2Images.has(id)) {
      body = body.replace(`<imageId>${id}</imageId>`, `<imageId>${id}</imageId><imdsSupport>v2.0</imdsSupport>`);
    }
    return { status: 200, body };
  }

  private forward(req: http.IncomingMessage, params: URLSearchParams): Promise<{ status: number; body: string }> {
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
}

/** Removes the TagSpecification for `resourceType` from a request and returns its tags. */
function takeTagSpecification(params: URLSearchParams, resourceType: string): Tag[] {
  const tags: Tag[] = [];
  const specs = [...params.keys()].map((k) => /^TagSpecification\.(\d+)\.ResourceType$/.exec(k)?.[1]).filter((n): n is string => !!n);
  for (const n of specs) {
    if (params.get(`TagSpecification.${n}.ResourceType`) !== resourceType) continue;
    for (let m = 1; params.has(`TagSpecification.${n}.Tag.${m}.Key`); m++) {
      tags.push({ Key: params.get(`TagSpecification.${n}.Tag.${m}.Key`)!, Value: params.get(`TagSpecification.${n}.Tag.${m}.Value`) ?? '' });
    }
    for (const key of [...params.keys()].filter((k) => k.startsWith(`TagSpecification.${n}.`))) {
      params.delete(key);
    }
  }
  return tags;
}

function readFilters(params: URLSearchParams): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (let n = 1; params.has(`Filter.${n}.Name`); n++) {
    const values: string[] = [];
    for (let m = 1; params.has(`Filter.${n}.Value.${m}`); m++) values.push(params.get(`Filter.${n}.Value.${m}`)!);
    filters.set(params.get(`Filter.${n}.Name`)!, values);
  }
  return filters;
}

function okXml(action: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>bridge</requestId><return>true</return></${action}Response>`;
}

function errorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>bridge</RequestID></Response>`;
}

function imagesXml(images: Array<{ imageId: string; snapshotIds: string[] }>): string {
  const items = images.map((i) => `<item><imageId>${i.imageId}</imageId><imageState>available</imageState><blockDeviceMapping>${
    i.snapshotIds.map((s) => `<item><ebs><snapshotId>${s}</snapshotId></ebs></item>`).join('')
  }</blockDeviceMapping></item>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?><DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>bridge</requestId><imagesSet>${items}</imagesSet></DescribeImagesResponse>`;
}
