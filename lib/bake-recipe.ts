import { createHash } from 'node:crypto';
import { Aws } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';

/** Where the bake writes what it baked. */
export const BAKE_MARKER_PATH = '/etc/ami-from-instance/bake.json';

/** The service the recipe installs, enables and the AMI test checks. */
export const BAKED_SERVICE = 'nginx';

const WEB_ROOT = '/usr/share/nginx/html';

/** What the recipe installs. Any change here gives a new recipe id, so a new source instance and a new image. */
const RECIPE = {
  packages: [BAKED_SERVICE],
  service: BAKED_SERVICE,
  page: `${WEB_ROOT}/index.html`,
  marker: BAKE_MARKER_PATH,
};

/** Identifies this recipe: written by the bake, checked by the AMI test. */
export const RECIPE_ID = createHash('sha256').update(JSON.stringify(RECIPE)).digest('hex').slice(0, 12);

/**
 * The bake: install and enable nginx, serve a page that names the recipe, and
 * write the bake marker; then check nginx answers. cfn-init runs the configs
 * in order and stops at the first failure, so the CreationPolicy is signalled
 * success only when the whole recipe worked.
 */
export function bakeRecipe(): ec2.CloudFormationInit {
  const marker = JSON.stringify({ recipeId: RECIPE_ID, ...RECIPE }, undefined, 2);
  return ec2.CloudFormationInit.fromConfigSets({
    configSets: { default: ['install', 'verify'] },
    configs: {
      install: new ec2.InitConfig([
        ...RECIPE.packages.map((p) => ec2.InitPackage.yum(p)),
        ec2.InitFile.fromString(RECIPE.page, `<!doctype html><title>ami-from-instance</title><p>baked by ami-from-instance recipe ${RECIPE_ID}</p>\n`),
        ec2.InitFile.fromString(BAKE_MARKER_PATH, `${marker}\n`),
        ec2.InitService.enable(RECIPE.service, { serviceManager: ec2.ServiceManager.SYSTEMD }),
      ]),
      verify: new ec2.InitConfig([
        ec2.InitCommand.shellCommand(`curl -fsS --retry 10 --retry-connrefused --retry-delay 2 http://localhost/ | grep -q ${RECIPE_ID}`),
      ]),
    },
  });
}

/** Options of {@link addAmiTest}. */
export interface AmiTestOptions {
  /**
   * Power the instance off once it has signalled a passing test: its job is
   * done, and a stopped instance costs only its volume (its public IPv4
   * address is released). The instance's shutdown behaviour must be `stop`.
   *
   * @default true
   */
  readonly powerOffOnSuccess?: boolean;
}

/**
 * Makes `instance` test the image it was launched from at first boot, and
 * signal the result to its CreationPolicy (which fails the deploy when the
 * test fails).
 */
export function addAmiTest(instance: ec2.Instance, options: AmiTestOptions = {}): void {
  const resource = instance.node.defaultChild as ec2.CfnInstance;
  const signal = `/opt/aws/bin/cfn-signal --stack ${Aws.STACK_NAME} --resource ${resource.logicalId} --region ${Aws.REGION}`;
  instance.userData.addCommands(
    'set -u',
    options.powerOffOnSuccess ?? true
      // After the signal: CloudFormation has the result; the instance's job is done.
      ? `pass() { ${signal} --success true --reason "AMI test passed: $1" && shutdown -h now; exit 0; }`
      : `pass() { ${signal} --success true --reason "AMI test passed: $1"; exit 0; }`,
    `fail() { echo "AMI test failed: $1" >&2; ${signal} --success false --reason "AMI test failed: $1"; exit 1; }`,
    `test -f ${BAKE_MARKER_PATH} || fail "bake marker ${BAKE_MARKER_PATH} is missing"`,
    `grep -q ${RECIPE_ID} ${BAKE_MARKER_PATH} || fail "bake marker is not from recipe ${RECIPE_ID}"`,
    `systemctl is-enabled --quiet ${BAKED_SERVICE} || fail "${BAKED_SERVICE} is not enabled"`,
    `for _ in $(seq 1 30); do systemctl is-active --quiet ${BAKED_SERVICE} && break; sleep 2; done`,
    `systemctl is-active --quiet ${BAKED_SERVICE} || fail "${BAKED_SERVICE} is not running"`,
    `page=$(curl -fsS --max-time 5 --retry 5 --retry-connrefused http://localhost/) || fail "${BAKED_SERVICE} does not answer on http://localhost/"`,
    `grep -q ${RECIPE_ID} <<<"$page" || fail "${BAKED_SERVICE} does not serve the baked page"`,
    `pass "recipe ${RECIPE_ID}: marker present, ${BAKED_SERVICE} enabled and answering on localhost"`,
  );
  instance.addToRolePolicy(new iam.PolicyStatement({
    actions: ['cloudformation:SignalResource'],
    resources: [Aws.STACK_ID],
  }));
}
