// IAM OpenID Connect providers and roles of the keyless config github (keyless render).
// `node app.js` synthesizes the stack into CDK_OUTDIR (default cdk.out); `npx cdk deploy` deploys it.
"use strict";
const cdk = require("aws-cdk-lib");
const iam = require("aws-cdk-lib/aws-iam");

const app = new cdk.App();
const stack = new cdk.Stack(app, "keyless-github", {
  description: "IAM OpenID Connect providers and roles of the keyless config github (keyless render)",
});

const providerGh = new iam.OidcProviderNative(stack, "ProviderGh", {
  url: "https://token.actions.githubusercontent.com",
  clientIds: ["sts.amazonaws.com"],
});
cdk.Tags.of(providerGh).add("keyless:managed", "github");
new cdk.CfnOutput(stack, "ProviderGhArn", {
  description: "ARN of the OpenID Connect provider https://token.actions.githubusercontent.com",
  value: providerGh.oidcProviderArn,
});

const roleDeployApiProduction = new iam.Role(stack, "RoleDeployApiProduction", {
  roleName: "deploy-api-production",
  path: "/",
  assumedBy: new iam.WebIdentityPrincipal(providerGh.oidcProviderArn, {
    "StringEquals": {
      "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
      "token.actions.githubusercontent.com:sub": "repo:acme/api:environment:production",
    },
  }).withSessionTags(),
  inlinePolicies: {
    "s3-deploy": iam.PolicyDocument.fromJson({
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "ListBucket",
          "Effect": "Allow",
          "Action": "s3:ListBucket",
          "Resource": "arn:" + cdk.Aws.PARTITION + ":s3:::acme-api",
        },
        {
          "Sid": "SyncObjects",
          "Effect": "Allow",
          "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"],
          "Resource": "arn:" + cdk.Aws.PARTITION + ":s3:::acme-api/*",
        },
      ],
    }),
  },
  maxSessionDuration: cdk.Duration.seconds(3600),
});
cdk.Tags.of(roleDeployApiProduction).add("keyless:managed", "github");
new cdk.CfnOutput(stack, "RoleDeployApiProductionArn", {
  description: "ARN of the role deploy-api-production",
  value: roleDeployApiProduction.roleArn,
});

const roleDeployWebProduction = new iam.Role(stack, "RoleDeployWebProduction", {
  roleName: "deploy-web-production",
  path: "/",
  assumedBy: new iam.WebIdentityPrincipal(providerGh.oidcProviderArn, {
    "StringEquals": {
      "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
      "token.actions.githubusercontent.com:sub": "repo:acme/web:environment:production",
    },
  }).withSessionTags(),
  inlinePolicies: {
    "s3-deploy": iam.PolicyDocument.fromJson({
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "ListBucket",
          "Effect": "Allow",
          "Action": "s3:ListBucket",
          "Resource": "arn:" + cdk.Aws.PARTITION + ":s3:::acme-web",
        },
        {
          "Sid": "SyncObjects",
          "Effect": "Allow",
          "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"],
          "Resource": "arn:" + cdk.Aws.PARTITION + ":s3:::acme-web/*",
        },
      ],
    }),
  },
  maxSessionDuration: cdk.Duration.seconds(3600),
});
cdk.Tags.of(roleDeployWebProduction).add("keyless:managed", "github");
new cdk.CfnOutput(stack, "RoleDeployWebProductionArn", {
  description: "ARN of the role deploy-web-production",
  value: roleDeployWebProduction.roleArn,
});

const roleReleaseWeb = new iam.Role(stack, "RoleReleaseWeb", {
  roleName: "release-web",
  path: "/",
  description: "Releases of acme/web",
  assumedBy: new iam.WebIdentityPrincipal(providerGh.oidcProviderArn, {
    "StringEquals": {
      "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
      "token.actions.githubusercontent.com:sub": "repo:acme/web:ref:refs/heads/main",
    },
  }),
  inlinePolicies: {
    "codeartifact-read": iam.PolicyDocument.fromJson({
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "AuthorizationToken",
          "Effect": "Allow",
          "Action": "codeartifact:GetAuthorizationToken",
          "Resource": "arn:" + cdk.Aws.PARTITION + ":codeartifact:eu-west-1:" + cdk.Aws.ACCOUNT_ID + ":domain/acme",
        },
        {
          "Sid": "BearerToken",
          "Effect": "Allow",
          "Action": "sts:GetServiceBearerToken",
          "Resource": "*",
          "Condition": {
            "StringEquals": {
              "sts:AWSServiceName": "codeartifact.amazonaws.com",
            },
          },
        },
        {
          "Sid": "ReadRepository",
          "Effect": "Allow",
          "Action": ["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
          "Resource": "arn:" + cdk.Aws.PARTITION + ":codeartifact:eu-west-1:" + cdk.Aws.ACCOUNT_ID + ":repository/acme/npm-store",
        },
      ],
    }),
  },
  maxSessionDuration: cdk.Duration.seconds(3600),
});
cdk.Tags.of(roleReleaseWeb).add("keyless:managed", "github");
new cdk.CfnOutput(stack, "RoleReleaseWebArn", {
  description: "ARN of the role release-web",
  value: roleReleaseWeb.roleArn,
});

app.synth();
