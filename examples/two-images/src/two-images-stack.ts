import * as path from 'node:path';
import { Recipe, TestedImage } from 'ami-from-instance';
import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** What a platform team writes: two tested images in one stack of its own, sharing one network. */
export class TwoImagesStack extends Stack {
  public readonly web: TestedImage;
  public readonly server: TestedImage;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);
    const vpc = TestedImage.newVpc(this, 'Network');
    const recipes = path.join(__dirname, '..', '..', 'recipes');

    // Baked from a recipe on Amazon Linux 2023, published to an SSM parameter once its test passed.
    this.web = new TestedImage(this, 'Web', {
      vpc,
      recipe: Recipe.fromDirectory(path.join(recipes, 'web')),
      image: { imageName: 'web', keepPrevious: 1 },
      distribution: { ssmParameterName: '/images/web/latest' },
    });

    // Imaged from an instance the team already runs; only the recipe's test.sh is used.
    this.server = new TestedImage(this, 'Server', {
      vpc,
      sourceInstanceId: 'i-0123456789abcdef0',
      recipe: Recipe.fromDirectory(path.join(recipes, 'server'), { requireBake: false }),
      image: { imageName: 'server', noReboot: true },
      distribution: { ssmParameterName: '/images/server/latest', deprecateAfterDays: 90 },
    });

    new CfnOutput(this, 'WebImageId', { value: this.web.image.imageId });
    new CfnOutput(this, 'ServerImageId', { value: this.server.image.imageId });
  }
}
