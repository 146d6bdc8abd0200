import type * as http from 'node:http';
import type { Answer, Upstream } from './image-states';

/** BRIDGE 14: moto stops an instance at once; EC2's is `stopping` for a while. */
export class InstanceStates {
  /** After StopInstances, DescribeInstances reports `stopping` this many times. */
  public stoppingDescribes = 0;
  private readonly stopping = new Map<string, number>();

  public async stopInstances(upstream: Upstream, req: http.IncomingMessage, params: URLSearchParams): Promise<Answer> {
    const response = await upstream.forward(req, params);
    if (response.status === 200 && this.stoppingDescribes > 0) this.stopping.set(params.get('InstanceId.1') ?? '', this.stoppingDescribes);
    return response;
  }

  public async describeInstances(upstream: Upstream, req: http.IncomingMessage, params: URLSearchParams): Promise<Answer> {
    const response = await upstream.forward(req, params);
    const id = params.get('InstanceId.1') ?? '';
    const left = this.stopping.get(id) ?? 0;
    if (response.status !== 200 || left <= 0 || !response.body.includes('<name>stopped</name>')) return response;
    this.stopping.set(id, left - 1);
    return { status: 200, body: response.body.replace('<code>80</code>', '<code>64</code>').replace('<name>stopped</name>', '<name>stopping</name>') };
  }
}
