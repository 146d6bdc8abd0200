#!/usr/bin/env node
import * as cdk from 'aws-cdk-lib';
import { AmiFromInstanceStack } from '../lib/ami-from-instance-stack';

const app = new cdk.App();
new AmiFromInstanceStack(app, 'AmiFromInstanceStack', {
  description: 'ami-from-instance: a baked EC2 instance turned into an AMI, tested on a second instance',
});
