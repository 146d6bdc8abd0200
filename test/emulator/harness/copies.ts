import type * as http from 'node:http';
import { CreateTagsCommand, Tag } from '@aws-sdk/client-ec2';
import type { Answer, Upstream } from './image-states';
import { errorXml, takeTagSpecification } from './xml';

export interface CopyUpstream extends Upstream {
  tagSnapshots(imageId: string, tags: Tag[], region: string): Promise<void>;
}

/** CopyImage as EC2 answers it (BRIDGES 7, 8). */
export class Copies {
  /** Copies per `<region>/<client token>` (BRIDGE 7). */
  private readonly copiesByToken = new Map<string, { source: string; imageId: string }>();

  public async copyImage(upstream: CopyUpstream, req: http.IncomingMessage, params: URLSearchParams, region: string): Promise<Answer> {
    // BRIDGE 7: moto ignores CopyImage's ClientToken. EC2 keeps a token per account and region, and answers a
    // repeated one with the first request's copy, forever (even once that copy is deregistered); the same
    // token with other parameters is IdempotentParameterMismatch.
    const token = `${region}/${params.get('ClientToken') ?? ''}`;
    const earlier = params.get('ClientToken') ? this.copiesByToken.get(token) : undefined;
    if (earlier && earlier.source !== params.get('SourceImageId')) {
      return { status: 400, body: errorXml('IdempotentParameterMismatch', 'The client token was used with other parameters') };
    }
    if (earlier) {
      return { status: 200, body: `<?xml version="1.0" encoding="UTF-8"?><CopyImageResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>bridge</requestId><imageId>${earlier.imageId}</imageId></CopyImageResponse>` };
    }
    // BRIDGE 8: moto accepts CopyImage's TagSpecifications but applies none; apply them as EC2 does.
    const imageTags = takeTagSpecification(params, 'image');
    const snapshotTags = takeTagSpecification(params, 'snapshot');
    const response = await upstream.forward(req, params);
    const imageId = /<imageId>(ami-[0-9a-f]+)<\/imageId>/.exec(response.body)?.[1];
    if (response.status !== 200 || !imageId) return response;
    if (params.get('ClientToken')) this.copiesByToken.set(token, { source: params.get('SourceImageId') ?? '', imageId });
    if (imageTags.length > 0) await upstream.moto(region).send(new CreateTagsCommand({ Resources: [imageId], Tags: imageTags }));
    await upstream.tagSnapshots(imageId, snapshotTags, region);
    return response;
  }
}
