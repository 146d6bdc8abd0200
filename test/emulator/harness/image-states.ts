/**
 * Image states real EC2 shows and moto does not (issue #10), used by the
 * bridge (bridge.ts): BRIDGE 10 just-deregistered images still listed, BRIDGE
 * 11 disabled images, BRIDGE 12 DeregisterImage's `DeleteAssociatedSnapshots`.
 * Everything here works on the query protocol's XML, as the bridge does.
 */

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
