import type * as http from 'node:http';
import { DeleteSnapshotCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { errorXml, okXml } from './xml';

/**
 * Image states real EC2 shows and moto does not (issue #10), used by the
 * bridge (bridge.ts): BRIDGE 10 just-deregistered images still listed, BRIDGE
 * 11 disabled images, BRIDGE 12 DeregisterImage's `DeleteAssociatedSnapshots`.
 * Everything here works on the query protocol's XML, as the bridge does.
 */

/** An EC2 answer: HTTP status and XML body. */
export interface Answer {
  readonly status: number;
  readonly body: string;
}

/** What the bridge lends these bridges: moto, and its own records. */
export interface Upstream {
  /** A client that talks to moto directly. */
  moto(region: string): EC2Client;
  /** Sends the request, with these parameters, on to moto. */
  forward(req: http.IncomingMessage, params: URLSearchParams): Promise<Answer>;
  /** Snapshot ids per image registered on existing snapshots (BRIDGE 6). */
  readonly registered: Map<string, string[]>;
  readonly deregisterRequests: Array<Record<string, string>>;
  readonly associatedSnapshotsResult: string;
}

/** A just-deregistered image, as DescribeImages keeps listing it for a while (BRIDGE 10). */
interface Ghost {
  readonly imageId: string;
  readonly region: string;
  readonly name: string;
  readonly snapshotIds: string[];
  /** The image's `<item>` from before the deregistration, with state `deregistered`. */
  readonly item: string;
  remaining: number;
}

export class ImageStates {
  /** Each deregistered image is still listed, as `deregistered`, by this many more matching DescribeImages calls. */
  public deregisteredListedFor = 10;
  /** Images disabled by DisableImage (BRIDGE 11), with their snapshots. */
  public readonly disabled = new Map<string, string[]>();
  private readonly ghosts: Ghost[] = [];

  public reset(): void {
    this.deregisteredListedFor = 10;
  }

  /** Remember an image being deregistered, from moto's DescribeImages answer for it taken just before. */
  public deregistered(region: string, describeBefore: string): void {
    const item = topLevelItems(describeBefore)[0];
    if (!item) return;
    this.ghosts.push({
      imageId: tag(item, 'imageId')!,
      region,
      name: tag(item, 'name') ?? '',
      snapshotIds: [...item.matchAll(/<snapshotId>(snap-[0-9a-f]+)<\/snapshotId>/g)].map((m) => m[1]),
      item: item.replace(/<imageState>[a-z]+<\/imageState>/, '<imageState>deregistered</imageState>'),
      remaining: this.deregisteredListedFor,
    });
  }

  /** True when DescribeImages asked for this id and only a ghost can answer it. */
  public isGhost(region: string, imageId: string): boolean {
    return this.ghosts.some((g) => g.region === region && g.imageId === imageId && g.remaining > 0);
  }

  /**
   * Rewrites a DescribeImages answer as EC2 would give it: disabled images left
   * out unless `IncludeDisabled`, else reported `disabled`; just-deregistered
   * images that match the request added as `deregistered`.
   */
  public describeImages(region: string, body: string, request: { ids: string[]; filters: Map<string, string[]>; includeDisabled: boolean }): string {
    let items = topLevelItems(body).filter((item) => request.includeDisabled || !this.disabled.has(tag(item, 'imageId')!));
    items = items.map((item) => (this.disabled.has(tag(item, 'imageId')!)
      ? item.replace(/<imageState>[a-z]+<\/imageState>/, '<imageState>disabled</imageState>')
      : item));
    const listed = new Set(items.map((item) => tag(item, 'imageId')));
    const names = request.filters.get('name');
    const snapshots = request.filters.get('block-device-mapping.snapshot-id');
    for (const ghost of this.ghosts) {
      if (ghost.region !== region || ghost.remaining <= 0 || listed.has(ghost.imageId)) continue;
      const matches = (request.ids.length === 0 || request.ids.includes(ghost.imageId))
        && (!names || names.includes(ghost.name))
        && (!snapshots || ghost.snapshotIds.some((s) => snapshots.includes(s)));
      if (!matches) continue;
      ghost.remaining--;
      items.push(ghost.item);
    }
    return withItems(body, items);
  }

  /**
   * DeregisterImage as EC2 does it. BRIDGE 10: the image stays listed, as
   * `deregistered`, for a while. BRIDGE 12: moto ignores
   * `DeleteAssociatedSnapshots`; EC2 deletes the snapshots no other image uses
   * and reports each one's result (or fails to: `associatedSnapshotsResult`).
   * An SDK older than 3.819 never sends the parameter, so nothing is deleted then.
   */
  public async deregisterImage(upstream: Upstream, req: http.IncomingMessage, params: URLSearchParams, region: string): Promise<Answer> {
    const imageId = params.get('ImageId') ?? '';
    upstream.deregisterRequests.push(Object.fromEntries(params));
    const before = await upstream.forward(req, new URLSearchParams({ Action: 'DescribeImages', Version: params.get('Version') ?? '2016-11-15', 'ImageId.1': imageId }));
    const response = await upstream.forward(req, params);
    if (response.status !== 200) return response;
    upstream.registered.delete(imageId);
    this.disabled.delete(imageId);
    if (before.status === 200) this.deregistered(region, before.body);
    if (params.get('DeleteAssociatedSnapshots') !== 'true' || before.status !== 200) return response;

    const snapshots = [...before.body.matchAll(/<snapshotId>(snap-[0-9a-f]+)<\/snapshotId>/g)].map((m) => m[1]);
    const { Images: others = [] } = await upstream.moto(region).send(new DescribeImagesCommand({ Owners: ['self'] }));
    const used = new Set([...others.flatMap((i) => (i.BlockDeviceMappings ?? []).map((b) => b.Ebs?.SnapshotId)), ...[...upstream.registered.values()].flat()]);
    const results: string[] = [];
    for (const snapshotId of snapshots) {
      let code: string = upstream.associatedSnapshotsResult;
      if (used.has(snapshotId)) code = 'skipped';
      else if (code === 'success') await upstream.moto(region).send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
      results.push(`<item><snapshotId>${snapshotId}</snapshotId><returnCode>${code}</returnCode></item>`);
    }
    return {
      status: 200,
      body: `<?xml version="1.0" encoding="UTF-8"?><DeregisterImageResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>bridge</requestId><return>true</return><deleteSnapshotResultSet>${results.join('')}</deleteSnapshotResultSet></DeregisterImageResponse>`,
    };
  }

  /** BRIDGE 11: moto has no DisableImage/EnableImage; a disabled image is hidden by DescribeImages unless `IncludeDisabled`. */
  public async disableOrEnableImage(upstream: Upstream, action: string, params: URLSearchParams, region: string): Promise<Answer> {
    const imageId = params.get('ImageId') ?? '';
    const image = (await upstream.moto(region).send(new DescribeImagesCommand({ ImageIds: [imageId] })).catch(() => ({ Images: [] }))).Images?.[0];
    if (!image) return { status: 400, body: errorXml('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`) };
    if (action === 'DisableImage') {
      this.disabled.set(imageId, (image.BlockDeviceMappings ?? []).map((b) => b.Ebs?.SnapshotId ?? ''));
    } else {
      this.disabled.delete(imageId);
    }
    return { status: 200, body: okXml(action) };
  }


  /** The disabled image whose snapshot this is: EC2 refuses to delete the snapshot. */
  public disabledUserOf(snapshotId: string): string | undefined {
    return [...this.disabled].find(([, snapshots]) => snapshots.includes(snapshotId))?.[0];
  }
}

/** The `<item>` children of the answer's `<imagesSet>`, each whole (they nest `<item>`s of their own). */
export function topLevelItems(body: string): string[] {
  const open = body.indexOf('<imagesSet>');
  const close = body.lastIndexOf('</imagesSet>');
  if (open < 0 || close < 0) return [];
  const inner = body.slice(open + '<imagesSet>'.length, close);
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (const m of inner.matchAll(/<item>|<\/item>|<item\/>/g)) {
    if (m[0] === '<item/>') continue;
    if (m[0] === '<item>') {
      if (depth === 0) start = m.index!;
      depth++;
    } else if (--depth === 0) {
      items.push(inner.slice(start, m.index! + '</item>'.length));
    }
  }
  return items;
}

/** The answer with its `<imagesSet>` holding these items. */
export function withItems(body: string, items: string[]): string {
  const xml = body.includes('<imagesSet>') ? body : describeImagesXml([]);
  const open = xml.indexOf('<imagesSet>') + '<imagesSet>'.length;
  return `${xml.slice(0, open)}${items.join('')}${xml.slice(xml.lastIndexOf('</imagesSet>'))}`;
}

export function describeImagesXml(items: string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?><DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>bridge</requestId><imagesSet>${items.join('')}</imagesSet></DescribeImagesResponse>`;
}

/** The text of a `<name>` element of the item itself, not of the items nested in it (tags, block devices). */
export function tag(item: string, name: string): string | undefined {
  let own = item.replace(/^<item>/, '').replace(/<\/item>$/, '');
  for (let before = ''; before !== own;) {
    before = own;
    own = own.replace(/<item>(?:(?!<item>)[\s\S])*?<\/item>/g, '');
  }
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(own)?.[1];
}
