import * as http from 'node:http';
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  Tag,
} from '@aws-sdk/client-ec2';
import { Copies, CopyUpstream } from './copies';
import { ImageStates, describeImagesXml, tag, topLevelItems, Upstream, withItems } from './image-states';
import { InstanceStates } from './instance-states';
import { EMULATOR_CREDENTIALS, EMULATOR_REGION, Ec2Proxy } from './proxy';
import { errorXml, imagesXml, okXml, readFilters, takeTagSpecification } from './xml';

export { EMULATOR_CREDENTIALS, EMULATOR_REGION };

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
 * Some bridges live beside this file: just-deregistered and disabled images and
 * `DeleteAssociatedSnapshots` (image-states.ts), CopyImage's client token and
 * tags (copies.ts), stopping instances (instance-states.ts). A runtime SDK that
 * predates `DeleteAssociatedSnapshots` is not a bridge: lifecycle-pre3819.test.ts
 * runs the bundles on such a client.
 */
export class Ec2Bridge extends Ec2Proxy implements Upstream, CopyUpstream {
  /** Calls received per EC2 action (including the ones a fault answered). */
  public readonly calls: Record<string, number> = {};
  /** DescribeImages calls that asked for image ids (the isComplete poll). */
  public describeByIdCalls = 0;

  /** Each image created from now on reports `pending` for this many DescribeImages-by-id calls. */
  public pendingDescribes = 0;
  /** Each copy made from now on (CopyImage) reports `pending` for this many DescribeImages answers that list it. */
  public pendingCopyDescribes = 0;
  /** Each copy made from now on reports `failed` with this reason (after its pending answers). */
  public failCopiesWith?: { code: string; message: string };
  /** Each image created from now on answers InvalidAMIID.NotFound for this many DescribeImages-by-id calls. */
  public notFoundDescribes = 0;
  /** Each image created from now on reports `failed` with this reason. */
  public failWith?: { code: string; message: string };
  /** Each image created from now on is left out of this many DescribeImages-by-name answers (eventual consistency). */
  public hiddenFromNameLookups = 0;
  /** The next this many CreateImage calls make the image but answer HTTP 503, as when the response is lost (BRIDGE 13). */
  public loseCreateImageResponses = 0;
  /** Instances `stopping` for a while after StopInstances (BRIDGE 14). */
  public readonly instances = new InstanceStates();
  /** What DeregisterImage's `DeleteAssociatedSnapshots` does to each snapshot (BRIDGE 12): EC2's `success`, or an error code. */
  public associatedSnapshotsResult: 'success' | 'internal-error' | 'client-error' | 'missing-permissions' = 'success';
  /** Just-deregistered and disabled images (BRIDGES 10, 11). */
  public readonly images = new ImageStates();
  /** SDK versions in the user agent of the calls received (`aws-sdk-js/<version>`). */
  public readonly sdkVersions = new Set<string>();
  /** The parameters of every DeregisterImage received. */
  public readonly deregisterRequests: Array<Record<string, string>> = [];
  /** The parameters of each CreateImage received. */
  public readonly createImageRequests: Array<Record<string, string>> = [];

  private readonly hiddenByName = new Map<string, number>();

  private readonly pending = new Map<string, number>();
  private readonly notFound = new Map<string, number>();
  private readonly failed = new Map<string, { code: string; message: string }>();
  /** Images made to require IMDSv2 by ModifyImageAttribute (BRIDGE 5). */
  public readonly imdsV2Images = new Set<string>();
  /** Snapshot ids that RegisterImage was asked to use, per registered image (BRIDGE 6). */
  public readonly registered = new Map<string, string[]>();
  private readonly faults: Fault[] = [];
  /** DeprecateAt per image (BRIDGE 9). */
  private readonly deprecations = new Map<string, string>();
  /** CopyImage's client tokens and tags (BRIDGES 7, 8). */
  private readonly copies = new Copies();
  /** When each image was made, to the millisecond (BRIDGE 15). */
  private readonly createdAt = new Map<string, string>();
  /** Answer the next `times` calls of `action` with an EC2 error instead of forwarding them. */
  public injectFault(action: string, code: string, status: number, times: number): void {
    this.faults.push({ action, code, status, remaining: times });
  }

  /** Forget knobs, faults and counters between scenarios. */
  public reset(): void {
    for (const key of Object.keys(this.calls)) delete this.calls[key];
    this.describeByIdCalls = 0;
    this.pendingDescribes = 0;
    this.pendingCopyDescribes = 0;
    this.failCopiesWith = undefined;
    this.notFoundDescribes = 0;
    this.failWith = undefined;
    this.hiddenFromNameLookups = 0;
    this.loseCreateImageResponses = 0;
    this.instances.stoppingDescribes = 0;
    this.associatedSnapshotsResult = 'success';
    this.images.reset();
    this.sdkVersions.clear();
    this.deregisterRequests.length = 0;
    this.createImageRequests.length = 0;
    this.faults.length = 0;
  }

  protected async handle(req: http.IncomingMessage, body: string): Promise<{ status: number; body: string }> {
    const params = new URLSearchParams(body);
    const action = params.get('Action') ?? '';
    // The region is in the SigV4 credential scope: <key>/<date>/<region>/ec2/aws4_request.
    const region = /Credential=[^/]+\/\d+\/([a-z0-9-]+)\//.exec(String(req.headers.authorization))?.[1] ?? EMULATOR_REGION;
    this.calls[action] = (this.calls[action] ?? 0) + 1;
    const sdk = /aws-sdk-js\/(\d+\.\d+\.\d+)/.exec(String(req.headers['user-agent']) + String(req.headers['x-amz-user-agent']))?.[1];
    if (sdk) this.sdkVersions.add(sdk);

    const fault = this.faults.find((f) => f.action === action && f.remaining > 0);
    if (fault) {
      fault.remaining--;
      return { status: fault.status, body: errorXml(fault.code, `injected by the test bridge (${fault.remaining} more)`) };
    }

    if (action === 'CreateImage' || action === 'CopyImage' || action === 'RegisterImage') {
      // BRIDGE 15: moto's CreationDate has a one-second grain (…:SS.000Z); EC2's has milliseconds, so images made
      // within a second still sort by age. Each new image's time is taken here, when EC2 would take it.
      const made = new Date().toISOString();
      const response = await this.route(req, params, action, region);
      const imageId = /<imageId>(ami-[0-9a-f]+)<\/imageId>/.exec(response.body)?.[1];
      if (response.status === 200 && imageId && !this.createdAt.has(imageId)) this.createdAt.set(imageId, made);
      return response;
    }
    return this.route(req, params, action, region);
  }

  private async route(req: http.IncomingMessage, params: URLSearchParams, action: string, region: string): Promise<{ status: number; body: string }> {
    switch (action) {
      case 'CreateImage':
        this.createImageRequests.push(Object.fromEntries(params));
        return this.createImage(req, params);
      case 'DisableImage':
      case 'EnableImage':
        return this.images.disableOrEnableImage(this, action, params, region);
      case 'StopInstances':
        return this.instances.stopInstances(this, req, params);
      case 'DescribeInstances':
        return this.instances.describeInstances(this, req, params);
      case 'DescribeImages':
        return this.describeImages(req, params, region);
      case 'CopyImage': {
        const response = await this.copies.copyImage(this, req, params, region);
        const copyId = /<imageId>(ami-[0-9a-f]+)<\/imageId>/.exec(response.body)?.[1];
        // BRIDGE 3, for copies: moto's copies are available at once; EC2's are pending for minutes (hours for large ones), or fail.
        if (response.status === 200 && copyId && !this.createdAt.has(copyId)) {
          if (this.pendingCopyDescribes > 0) this.pending.set(copyId, this.pendingCopyDescribes);
          if (this.failCopiesWith) this.failed.set(copyId, this.failCopiesWith);
        }
        return response;
      }
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
      case 'DeregisterImage':
        return this.images.deregisterImage(this, req, params, region);
      case 'DeleteSnapshot': {
        const snapshotId = params.get('SnapshotId') ?? '';
        const user = [...this.registered].find(([, snapshots]) => snapshots.includes(snapshotId))?.[0]
          // BRIDGE 11: EC2 refuses to delete a disabled image's snapshots ("snapshot is currently in use").
          ?? this.images.disabledUserOf(snapshotId);
        if (user) {
          return { status: 400, body: errorXml('InvalidSnapshot.InUse', `The snapshot ${snapshotId} is currently in use by ${user}`) };
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
    if (this.hiddenFromNameLookups > 0) this.hiddenByName.set(name, this.hiddenFromNameLookups);
    if (this.loseCreateImageResponses > 0) {
      this.loseCreateImageResponses--;
      return { status: 503, body: errorXml('InternalError', 'the image was made, but this answer is lost (injected by the test bridge)') };
    }
    return response;
  }

  public async tagSnapshots(imageId: string, tags: Tag[], region: string): Promise<void> {
    if (tags.length === 0) return;
    const image = (await this.moto(region).send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
    const snapshots = (image?.BlockDeviceMappings ?? []).map((m) => m.Ebs?.SnapshotId).filter((s): s is string => !!s);
    if (snapshots.length > 0) {
      await this.moto(region).send(new CreateTagsCommand({ Resources: snapshots, Tags: tags }));
    }
  }

  private async describeImages(req: http.IncomingMessage, params: URLSearchParams, region: string): Promise<{ status: number; body: string }> {
    const ids = [...params.entries()].filter(([k]) => /^ImageId\.\d+$/.test(k)).map(([, v]) => v);
    const filters = readFilters(params);
    const response = await this.describeImagesFromMoto(req, params, region, ids, filters);
    const onlyListedAsDeregistered = ids.length === 1 && this.images.isGhost(region, ids[0]);
    if (response.status !== 200 && !onlyListedAsDeregistered) return response;
    let body = response.status === 200 ? response.body : describeImagesXml([]);
    // BRIDGE 3 (eventual consistency): a lookup by name may not list a new image for a while either.
    for (const name of filters.get('name') ?? []) {
      const left = this.hiddenByName.get(name) ?? 0;
      if (left <= 0) continue;
      this.hiddenByName.set(name, left - 1);
      body = withItems(body, topLevelItems(body).filter((item) => tag(item, 'name') !== name));
    }
    return { status: 200, body: this.images.describeImages(region, body, { ids, filters, includeDisabled: params.get('IncludeDisabled') === 'true' }) };
  }

  private async describeImagesFromMoto(
    req: http.IncomingMessage,
    params: URLSearchParams,
    region: string,
    ids: string[],
    filters: Map<string, string[]>,
  ): Promise<{ status: number; body: string }> {

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
    if (response.status !== 200) return response;
    // EC2 reports an image's state however it is looked up (by id, by name, unfiltered): so does the bridge.
    let body = response.body;
    for (const id of [...body.matchAll(/<imageId>(ami-[0-9a-f]+)<\/imageId>/g)].map((m) => m[1])) {
      body = this.annotate(body, id);
    }
    return { status: 200, body };
  }

  /** The item of image `id` in a DescribeImages answer, as EC2 would report it (BRIDGE 3, 5, 9). */
  private annotate(body: string, id: string): string {
    const at = body.indexOf(`<imageId>${id}</imageId>`);
    const stateAt = body.indexOf('<imageState>available</imageState>', at);
    const nextItem = body.indexOf('<imageId>ami-', at + 1);
    const failure = this.failed.get(id);
    const pendingLeft = this.pending.get(id) ?? 0;
    let state: string | undefined;
    // Pending first, then failed (or available): an image EC2 reports failed was pending before.
    if (pendingLeft > 0) {
      this.pending.set(id, pendingLeft - 1);
      state = '<imageState>pending</imageState>';
    } else if (failure) {
      state = `<imageState>failed</imageState><stateReason><code>${failure.code}</code><message>${failure.message}</message></stateReason>`;
    }
    // The state element of this item: before the next item's id.
    if (state && stateAt >= 0 && (nextItem < 0 || stateAt < nextItem)) {
      body = body.slice(0, stateAt) + state + body.slice(stateAt + '<imageState>available</imageState>'.length);
    }
    const made = this.createdAt.get(id);
    const dateAt = body.indexOf('<creationDate>', at);
    const following = body.indexOf('<imageId>ami-', at + 1);
    if (made && dateAt >= 0 && (following < 0 || dateAt < following)) {
      const end = body.indexOf('</creationDate>', dateAt);
      body = body.slice(0, dateAt) + `<creationDate>${made}` + body.slice(end);
    }
    const extra = [
      this.deprecations.get(id) ? `<deprecationTime>${this.deprecations.get(id)}</deprecationTime>` : '',
      this.imdsV2Images.has(id) ? '<imdsSupport>v2.0</imdsSupport>' : '',
    ].join('');
    return extra ? body.replace(`<imageId>${id}</imageId>`, `<imageId>${id}</imageId>${extra}`) : body;
  }


}
