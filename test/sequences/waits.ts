/**
 * The wait conditions of waits over an hour (timeoutMinutes over 55), as a
 * deploy meets them: a new condition (a new hash in its logical id) waits for
 * its own signal; EC2 sends `EC2 AMI State Change` only for an image that
 * enters a state during this deploy; otherwise only the scheduled check,
 * while the handler left its rule enabled, can signal. A condition that gets
 * no signal is a deploy that waits until the condition's timeout (hours).
 */
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { ENV_COPY_REGIONS, ENV_IMAGE_ID, ENV_IMAGE_NAME } from '../../lib/image-distribution/shared';
import { ENV_SIGNAL_ID } from '../../lib/instance-image/shared';
import { ENV_CHECK_RULE, ENV_HANDLE_URL, ENV_OWNER } from '../../lib/shared/names';
import type { Signal } from '../emulator/harness/signals';
import type { Emulator } from '../emulator/harness/suite';

/** Scheduled checks a deploy may see before its condition's timeout: plenty for an image already there. */
const CHECKS = 5;

const stateChange = (imageId: string, state: string) => ({
  'version': '0', 'source': 'aws.ec2', 'detail-type': 'EC2 AMI State Change',
  'resources': [`arn:aws:ec2:us-east-1::image/${imageId}`], 'detail': { ImageId: imageId, State: state },
});
const scheduled = { 'version': '0', 'source': 'aws.events', 'detail-type': 'Scheduled Event', 'detail': {} };

export interface Wait {
  readonly signalId: string;
  readonly rule: string;
}

/** Signals one deployment's new wait conditions as EC2 and EventBridge would; each answer is a failure or undefined. */
export class WaitConditions {
  constructor(private readonly emu: Emulator, private readonly owner: string) {}

  /**
   * The image's new condition: EC2's event when the image entered a state in this deploy (`madeNow`), then the
   * scheduled check while its rule is enabled. Undefined when it got SUCCESS for `imageId`.
   */
  public async image(wait: Wait, imageId: string, madeNow: boolean): Promise<string | undefined> {
    this.imageFunction(wait);
    const from = this.emu.signals.received.length;
    if (madeNow) {
      const state = (await this.describe(imageId))?.State;
      if (state === 'available' || state === 'failed') await this.emu.handlers.onImageEvent(stateChange(imageId, state));
    }
    await this.checkWhileEnabled(wait.rule, () => this.emu.handlers.onImageEvent(scheduled), from);
    return this.outcome('Image', wait, imageId, this.emu.signals.received.slice(from));
  }

  /** The copies' new condition: the copies check while its rule is enabled (a copy's events stay in its region). */
  public async copies(wait: Wait, imageId: string, regions: readonly string[]): Promise<string | undefined> {
    await this.copiesFunction(wait, imageId, regions);
    const from = this.emu.signals.received.length;
    await this.checkWhileEnabled(wait.rule, () => this.emu.handlers.onCopiesCheck({}), from);
    return this.outcome('Copies', wait, imageId, this.emu.signals.received.slice(from));
  }

  /**
   * Time passing after a deploy: the scheduled checks of the deployed template fire while their rules are enabled,
   * until they turn themselves off (a rule left on does not carry over to the next deploy as it would not in AWS).
   */
  public async settle(image: Wait | undefined, copies: { wait: Wait; imageId: string; regions: readonly string[] } | undefined): Promise<void> {
    if (image) {
      this.imageFunction(image);
      await this.checkWhileEnabled(image.rule, () => this.emu.handlers.onImageEvent(scheduled));
    }
    if (copies) {
      await this.copiesFunction(copies.wait, copies.imageId, copies.regions);
      await this.checkWhileEnabled(copies.wait.rule, () => this.emu.handlers.onCopiesCheck({}));
    }
  }

  /** The signal function's environment, as the template of this wait gives it. */
  private imageFunction(wait: Wait): void {
    Object.assign(process.env, { [ENV_HANDLE_URL]: this.emu.signals.handleUrl, [ENV_SIGNAL_ID]: wait.signalId, [ENV_OWNER]: this.owner, [ENV_CHECK_RULE]: wait.rule });
  }

  /** The copies check's environment, as the template of this wait gives it. */
  private async copiesFunction(wait: Wait, imageId: string, regions: readonly string[]): Promise<void> {
    const name = (await this.describe(imageId))?.Name ?? '';
    Object.assign(process.env, {
      [ENV_HANDLE_URL]: this.emu.signals.handleUrl, [ENV_OWNER]: this.owner, [ENV_CHECK_RULE]: wait.rule,
      [ENV_IMAGE_NAME]: name, [ENV_IMAGE_ID]: imageId, [ENV_COPY_REGIONS]: regions.join(','),
    });
  }

  /** Runs `check` while `rule` is enabled, at most {@link CHECKS} times, and (with `untilSignalAfter`) until a signal arrives. */
  private async checkWhileEnabled(rule: string, check: () => Promise<unknown>, untilSignalAfter?: number): Promise<void> {
    for (let i = 0; i < CHECKS && this.enabled(rule); i++) {
      if (untilSignalAfter !== undefined && this.emu.signals.received.length > untilSignalAfter) return;
      await check();
    }
  }

  private enabled(rule: string): boolean {
    return this.emu.signals.rules.get(rule) === 'ENABLED';
  }

  private async describe(imageId: string) {
    return (await this.emu.viaBridge.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
  }

  private outcome(what: string, wait: Wait, imageId: string, signals: Signal[]): string | undefined {
    const [first] = signals;
    const condition = `${what} wait condition ${wait.signalId}`;
    if (!first) {
      return `${condition} was never signalled (its check's rule is ${this.emu.signals.rules.get(wait.rule) ?? 'never enabled'}): the deploy waits until its timeout`;
    }
    if (first.Status !== 'SUCCESS') return `${condition} FAILURE: ${first.Reason}`;
    if (first.UniqueId !== imageId) return `${condition} signalled for ${first.UniqueId}, not for ${imageId}`;
    return undefined;
  }
}
