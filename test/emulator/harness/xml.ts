import type { Tag } from '@aws-sdk/client-ec2';

/** Removes the TagSpecification for `resourceType` from a request and returns its tags. */
export function takeTagSpecification(params: URLSearchParams, resourceType: string): Tag[] {
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

export function readFilters(params: URLSearchParams): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (let n = 1; params.has(`Filter.${n}.Name`); n++) {
    const values: string[] = [];
    for (let m = 1; params.has(`Filter.${n}.Value.${m}`); m++) values.push(params.get(`Filter.${n}.Value.${m}`)!);
    filters.set(params.get(`Filter.${n}.Name`)!, values);
  }
  return filters;
}

export function okXml(action: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>bridge</requestId><return>true</return></${action}Response>`;
}

export function errorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>bridge</RequestID></Response>`;
}

export function imagesXml(images: Array<{ imageId: string; snapshotIds: string[] }>): string {
  const items = images.map((i) => `<item><imageId>${i.imageId}</imageId><imageState>available</imageState><blockDeviceMapping>${
    i.snapshotIds.map((s) => `<item><ebs><snapshotId>${s}</snapshotId></ebs></item>`).join('')
  }</blockDeviceMapping></item>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?><DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>bridge</requestId><imagesSet>${items}</imagesSet></DescribeImagesResponse>`;
}
