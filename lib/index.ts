/**
 * ami-from-instance: the console's *Create image* flow as CDK constructs.
 * This is the library's one entry point; nothing else is public.
 *
 * - {@link TestedImage}: the whole pipeline (source, bake, image, AMI test on
 *   a second instance, promotion after the test), several to a stack.
 * - {@link InstanceImage}: an AMI of an instance, as a custom resource.
 * - {@link ImageDistribution}: sharing, copies, deprecation and an SSM
 *   parameter, gated by whatever must pass first.
 * - {@link Recipe}, {@link BaseImage}, {@link ReportedScript},
 *   {@link HardenedInstance}: the parts TestedImage is made of.
 */
export { TestedImage, type TestedImageProps } from './tested-image/tested-image';
export { InstanceImage } from './instance-image/instance-image';
export type { InstanceImageMachineImageOptions, InstanceImageOptions, InstanceImageProps } from './instance-image/props';
export { ImageDistribution } from './image-distribution/image-distribution';
export type { ImageDistributionOptions, ImageDistributionProps } from './image-distribution/props';
export { Recipe, type RecipeOptions, type RecipeParts } from './recipe/recipe';
export { ReportedScript, type ReportedScriptProps, type ScriptFile, type ScriptStep, type ScriptText } from './reported-script/reported-script';
export { BaseImage, type BaseImageOptions, type BoundBaseImage } from './base-image';
export { HardenedInstance, type HardenedInstanceProps } from './hardened-instance';

/*
 * Option checks. Each returns the message for a bad value, naming the option
 * and showing the value, or undefined for a good one. The constructs run them
 * when they are built and throw the first message; an app that reads its
 * options from elsewhere (context, a file) can run them first and report every
 * bad value at once, as this project's app does (lib/config.ts).
 */
export { checkDescription, checkExcludeDevices, checkImageName, checkInstanceId, checkKeepPrevious, checkTags } from './instance-image/checks';
export { checkRootVolumeGiB } from './hardened-instance';
export {
  checkAccounts, checkCopyKmsKeyArn, checkCopyRegions, checkDeprecateAfterDays, checkKmsKeyArn, checkOrganizationArns, checkSharedCopiesKey, checkSharingKey, checkSsmParameterName,
} from './image-distribution/checks';
export { MAX_IMAGE_WAIT, MAX_TOTAL_TIMEOUT } from './shared/waits';
