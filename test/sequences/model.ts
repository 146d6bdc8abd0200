/**
 * What a user deploys, step after step, and what the stack should hold after
 * each step: the model the invariants (invariants.ts) compare the emulator with.
 */
import { createHash } from 'node:crypto';
import type { DistributionResourceProperties } from '../../lib/image-distribution/shared';
import type { ImageResourceProperties } from '../../lib/instance-image/shared';
import { EMULATOR_APP_CONTEXT } from '../emulator/harness/handlers';

/** Which image: each content is its own RebuildToken, so a change of content is a new image and a revert names the old one again. */
export type Content = 'A' | 'B' | 'C';

/** The two accounts a configuration may share with. */
export const ACCOUNTS = ['111122223333', '444455556666'] as const;

/** The one region a configuration may copy to (the stack's own is us-east-1). */
export const COPY_REGION = 'eu-west-1';

/** One deploy's worth of user choices. */
export interface Configuration {
  readonly content: Content;
  readonly keepPrevious: 0 | 1 | 2;
  readonly shareWithAccounts: readonly string[];
  readonly copyToRegions: readonly string[];
  readonly removalPolicy: 'destroy' | 'retain';
  /**
   * `timeoutMinutes`: over 55, the image and the copies are followed by wait conditions (their logical ids, and
   * the SignalIds, hash the content and this timeout); 55 or less, the Provider's waiter polls.
   */
  readonly timeoutMinutes: TimeoutMinutes;
  /** `keepInstancesRunning` false: the source is stopped before it is imaged (`StopInstance`), also when switched on in place. */
  readonly stopInstance: boolean;
}

/** The timeouts a configuration may have: the waiter's, and two waits over an hour (a change between them is a new wait condition). */
export const TIMEOUTS = [45, 600, 720] as const;
export type TimeoutMinutes = (typeof TIMEOUTS)[number];

/** Whether a configuration waits with wait conditions (timeoutMinutes over 55). */
export const longWait = (c: Configuration): boolean => c.timeoutMinutes > 55;

/**
 * A deploy of a sequence: its configuration; whether a resource after the distribution fails it (a rollback);
 * whether the image it makes ends `failed` (EC2's reason), as a snapshot that fails does; whether the AMI test of
 * the image it goes to fails (the replaced target's wait condition gets FAILURE: a rollback before the promotion);
 * whether that image is still pending when CloudFormation's hour is up.
 */
export interface Step {
  readonly config: Configuration;
  readonly laterFails: boolean;
  readonly imageFails?: boolean;
  readonly testFails?: boolean;
  /** The image it makes stays pending past CloudFormation's hour (with the waiter: timeoutMinutes 45). */
  readonly slowImage?: boolean;
}

/** One CloudFormation stack that holds an Image and a Distribution. */
export interface Deployment {
  /** Keeps one run's images apart from every other run's (RebuildToken and owner). */
  readonly namespace: string;
  readonly stackName: string;
  readonly stackId: string;
}

/** A stack of its own: its StackId ends in a UUID of its own, derived from the namespace so that runs replay alike. */
export function deployment(namespace: string, stackName = 'AmiFromInstanceStack'): Deployment {
  const hex = createHash('sha256').update(`${stackName}/${namespace}`).digest('hex');
  const uuid = [hex.slice(0, 8), hex.slice(8, 12), `4${hex.slice(13, 16)}`, `8${hex.slice(17, 20)}`, hex.slice(20, 32)].join('-');
  return { namespace, stackName, stackId: `arn:aws:cloudformation:us-east-1:123456789012:stack/${stackName}/${uuid}` };
}

/**
 * The owner tag value of a deployment's images: the one place that decides it.
 * As the construct writes it: `<stack name>/<construct path>@<stack UUID>`, the
 * UUID the last part of the StackId. (The form of before, without `@<UUID>`, is
 * another deployment's too: the handlers then look at the recorded image only.)
 */
export function ownerOf(d: Deployment): string {
  return `${d.stackName}/Image@${d.stackId.split('/')[2]}`;
}

export const config = (content: Content, more: Partial<Configuration> = {}): Configuration => ({
  content, keepPrevious: 0, shareWithAccounts: [], copyToRegions: [], removalPolicy: 'destroy', timeoutMinutes: 45, stopInstance: false, ...more,
});

/** A wait condition's hash, as the construct's: of what it waits for and its timeout (so a revert names the old hash again). */
const hashOf = (...parts: unknown[]): string => createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);

/** The image's wait condition (timeoutMinutes over 55): its SignalId and the scheduled check's rule. */
export function imageWaitOf(d: Deployment, c: Configuration): { signalId: string; rule: string } | undefined {
  return longWait(c) ? { signalId: hashOf(d.namespace, c.content, c.timeoutMinutes), rule: `${d.namespace}-ImageCheck` } : undefined;
}

/** The copies' wait condition (timeoutMinutes over 55 with copies): the starter's SignalId and the copies check's rule. */
export function copiesWaitOf(d: Deployment, c: Configuration): { signalId: string; rule: string } | undefined {
  return longWait(c) && c.copyToRegions.length > 0
    ? { signalId: hashOf(d.namespace, c.content, c.copyToRegions, c.timeoutMinutes), rule: `${d.namespace}-CopiesCheck` }
    : undefined;
}

/** The Image's properties: the synthesized ones (`emu.baseProps`), with this deployment's owner and content. */
export function imagePropsOf(base: ImageResourceProperties, d: Deployment, c: Configuration): ImageResourceProperties {
  const wait = imageWaitOf(d, c);
  return {
    ...base,
    Owner: ownerOf(d),
    RebuildToken: `${d.namespace}-${c.content}`,
    KeepPrevious: String(c.keepPrevious),
    RemovalPolicy: c.removalPolicy,
    StopInstance: c.stopInstance ? 'true' : 'false',
    ...(wait ? { SignalId: wait.signalId, CheckRuleName: wait.rule } : {}),
  };
}

/** The Distribution's properties, as the construct passes the image's settings on to it. */
export function distributionPropsOf(d: Deployment, c: Configuration, imageId: string): DistributionResourceProperties {
  return {
    ImageId: imageId,
    Owner: ownerOf(d),
    RemovalPolicy: c.removalPolicy,
    KeepPrevious: String(c.keepPrevious),
    ShareWithAccounts: [...c.shareWithAccounts],
    ...(c.copyToRegions.length > 0 ? { CopyToRegions: [...c.copyToRegions], CopyKmsKeyArn: EMULATOR_APP_CONTEXT.copyKmsKeyArn } : {}),
  };
}

/** The copies' starter's properties (timeoutMinutes over 55 with copies), as the construct writes them. */
export function copiesStarterPropsOf(d: Deployment, c: Configuration, imageId: string): DistributionResourceProperties | undefined {
  const wait = copiesWaitOf(d, c);
  return wait && {
    ...distributionPropsOf(d, c, imageId),
    StartOnly: 'true',
    CheckRuleName: wait.rule,
    SignalId: wait.signalId,
    DistributionLogicalId: 'Distribution',
  };
}

export const describeConfig = (c: Configuration): string =>
  `${c.content} keep=${c.keepPrevious} share=[${c.shareWithAccounts.join(',')}] copy=[${c.copyToRegions.join(',')}] ${c.removalPolicy} ${c.timeoutMinutes}min${c.stopInstance ? ' stop' : ''}`;

/**
 * What the stack should hold: the configuration in force, the current image,
 * and which of the deployment's images should exist (`owned`). `history` lists
 * image ids in the order they became current (a revert appends the old id again),
 * so "the most recent previous images" are those that stopped being current last.
 */
export class Model {
  public config!: Configuration;
  /** The configuration before the last completed deploy. */
  public previousConfig!: Configuration;
  public currentId!: string;
  public owned: string[] = [];
  public deleted = false;
  public readonly history: string[] = [];
  /** Content of each image id seen, for messages a reader can follow. */
  public readonly contentOf = new Map<string, Content>();

  public created(c: Configuration, imageId: string): void {
    this.config = c;
    this.previousConfig = c;
    this.becomesCurrent(imageId, c.content);
    this.owned = [imageId];
  }

  /**
   * A deploy that completed: the new configuration is in force. A replacement's cleanup Delete carries the
   * replaced image's properties, so the configuration deployed BEFORE decides it (README, "Keeping previous
   * images": a new keepPrevious applies from the next replacement): with removalPolicy retain nothing goes;
   * else the replaced image ranks first among the previous ones, the others newest made first.
   */
  public updated(c: Configuration, imageId: string): void {
    const was = this.config;
    this.previousConfig = was;
    this.config = c;
    if (imageId === this.currentId) return; // in place: nothing made, nothing removed
    const replaced = this.currentId;
    this.becomesCurrent(imageId, c.content);
    if (was.removalPolicy === 'retain') {
      this.owned = unique([imageId, ...this.owned]);
      return;
    }
    const others = this.owned.filter((id) => id !== imageId && id !== replaced).sort((a, b) => this.made(b) - this.made(a));
    const previous = this.owned.includes(replaced) ? [replaced, ...others] : others;
    this.owned = [imageId, ...previous.slice(0, was.keepPrevious)];
  }

  /**
   * A deploy rolled back: the stack is as it was, and so are its images. The rollback's cleanup removes the
   * image the failed update abandoned when it is newer than the one gone back to (made by that update; an image
   * adopted by it, older, stays), whatever the removal policy.
   */
  public rolledBack(abandoned?: string): void {
    this.previousConfig = this.config;
    if (abandoned !== undefined && abandoned !== this.currentId) {
      if (!this.madeOrder.has(abandoned)) this.madeOrder.set(abandoned, this.madeOrder.size);
      if (this.made(abandoned) > this.made(this.currentId)) this.owned = this.owned.filter((id) => id !== abandoned);
    }
  }

  /** What the last deploy changed of what decides the pruning, for messages. */
  public get changed(): string {
    const [was, now] = [this.previousConfig, this.config];
    return [
      was.keepPrevious !== now.keepPrevious ? `keepPrevious ${was.keepPrevious} → ${now.keepPrevious}` : '',
      was.removalPolicy !== now.removalPolicy ? `removalPolicy ${was.removalPolicy} → ${now.removalPolicy}` : '',
    ].filter((x) => x).join(', ');
  }

  /**
   * After a check: the model follows what is there, so one divergence is reported at the step
   * that made it, not again at every later step. An image gone cannot come back; one left over
   * is this deployment's still (never current: the first a later replacement prunes).
   */
  public resync(existing: string[]): void {
    this.owned = [...this.owned.filter((id) => existing.includes(id)), ...existing.filter((id) => !this.owned.includes(id))];
  }

  public stackDeleted(): void {
    this.deleted = true;
    if (this.config.removalPolicy === 'destroy') this.owned = [];
  }

  public label(id: string): string {
    const content = this.contentOf.get(id);
    return content ? `${id}(${content})` : id;
  }

  /** The order in which images were made: an image seen again (adopted) keeps its place. */
  private readonly madeOrder = new Map<string, number>();

  private made(id: string): number {
    return this.madeOrder.get(id) ?? -1;
  }

  private becomesCurrent(imageId: string, content: Content): void {
    if (!this.madeOrder.has(imageId)) this.madeOrder.set(imageId, this.madeOrder.size);
    this.currentId = imageId;
    this.history.push(imageId);
    this.contentOf.set(imageId, content);
  }
}

const unique = (ids: string[]) => [...new Set(ids)];
