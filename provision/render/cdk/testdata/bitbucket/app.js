// IAM OpenID Connect providers and roles of the keyless config acme-web (keyless render).
// `node app.js` synthesizes the stack into CDK_OUTDIR (default cdk.out); `npx cdk deploy` deploys it.
"use strict";
const cdk = require("aws-cdk-lib");
const iam = require("aws-cdk-lib/aws-iam");

const app = new cdk.App();
const stack = new cdk.Stack(app, "keyless-acme-web", {
  description: "IAM OpenID Connect providers and roles of the keyless config acme-web (keyless render)",
});

const providerBb = new iam.OidcProviderNative(stack, "ProviderBb", {
  url: "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc",
  clientIds: ["ari:cloud:bitbucket::workspace/84c08677-e352-4a1c-a107-6df387cfeef7"],
  thumbprints: ["a031c46782e6e6c662c2c87c76da9aa62ccabd8e"],
});
cdk.Tags.of(providerBb).add("cost-center", "42");
cdk.Tags.of(providerBb).add("keyless:managed", "acme-web");
cdk.Tags.of(providerBb).add("team", "platform");
new cdk.CfnOutput(stack, "ProviderBbArn", {
  description: "ARN of the OpenID Connect provider https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc",
  value: providerBb.oidcProviderArn,
});

const roleCdkInfra = new iam.Role(stack, "RoleCdkInfra", {
  roleName: "cdk-infra",
  path: "/",
  description: "CDK deployments of acme/infra",
  assumedBy: new iam.WebIdentityPrincipal(providerBb.oidcProviderArn, {
    "IpAddress": {
      "aws:SourceIp": ["104.192.136.0/21", "185.166.140.0/22", "2401:1d80:1010::/64"],
    },
    "StringEquals": {
      "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:aud": "ari:cloud:bitbucket::workspace/84c08677-e352-4a1c-a107-6df387cfeef7",
    },
    "StringLike": {
      "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:sub": "{3333aaaa-5b4a-4a2b-8c9d-0e1f2a3b4c5d}:*",
    },
  }),
  inlinePolicies: {
    "cdk-deploy": iam.PolicyDocument.fromJson({
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "ThroughCloudFormation",
          "Effect": "Allow",
          "Action": "*",
          "Resource": "*",
          "Condition": {
            "ForAnyValue:StringEquals": {
              "aws:CalledVia": "cloudformation.amazonaws.com",
            },
          },
        },
        {
          "Sid": "CDKAssets",
          "Effect": "Allow",
          "Action": "s3:*",
          "Resource": ["arn:" + cdk.Aws.PARTITION + ":s3:::cdk-*stagingbucket-*", "arn:" + cdk.Aws.PARTITION + ":s3:::cdk-hnb659fds-assets-*"],
        },
        {
          "Sid": "CDKBootstrapRoles",
          "Effect": "Allow",
          "Action": ["iam:PassRole", "sts:AssumeRole"],
          "Resource": "arn:" + cdk.Aws.PARTITION + ":iam::*:role/cdk-hnb659fds-*-role-*",
        },
        {
          "Sid": "ChangeSets",
          "Effect": "Allow",
          "Action": ["cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:DescribeChangeSet", "cloudformation:DescribeStackEvents", "cloudformation:DescribeStacks", "cloudformation:ExecuteChangeSet", "cloudformation:GetTemplate", "cloudformation:ValidateTemplate"],
          "Resource": "*",
        },
        {
          "Sid": "EventBuses",
          "Effect": "Allow",
          "Action": "events:PutEvents",
          "Resource": "arn:" + cdk.Aws.PARTITION + ":events:*:123456789012:event-bus/*",
        },
      ],
    }),
    "parameters": iam.PolicyDocument.fromJson({
      "Version": "2012-10-17",
      "Statement": [
        {
          "Effect": "Allow",
          "Action": "ssm:GetParameter",
          "Resource": "arn:" + cdk.Aws.PARTITION + ":ssm:eu-west-1:123456789012:parameter/ci/*",
        },
      ],
    }),
  },
  managedPolicies: [
    iam.ManagedPolicy.fromManagedPolicyArn(stack, "RoleCdkInfraManaged1", "arn:" + cdk.Aws.PARTITION + ":iam::aws:policy/AWSCodeArtifactReadOnlyAccess"),
    iam.ManagedPolicy.fromManagedPolicyArn(stack, "RoleCdkInfraManaged2", "arn:" + cdk.Aws.PARTITION + ":iam::aws:policy/ReadOnlyAccess"),
  ],
  permissionsBoundary: iam.ManagedPolicy.fromManagedPolicyArn(stack, "RoleCdkInfraBoundary", "arn:" + cdk.Aws.PARTITION + ":iam::123456789012:policy/ci-boundary"),
  maxSessionDuration: cdk.Duration.seconds(3600),
});
cdk.Tags.of(roleCdkInfra).add("cost-center", "42");
cdk.Tags.of(roleCdkInfra).add("keyless:managed", "acme-web");
new cdk.CfnOutput(stack, "RoleCdkInfraArn", {
  description: "ARN of the role cdk-infra",
  value: roleCdkInfra.roleArn,
});

const roleDeployDocsProduction = new iam.Role(stack, "RoleDeployDocsProduction", {
  roleName: "deploy-docs-production",
  path: "/ci/",
  description: "Deploys docs to production",
  assumedBy: new iam.WebIdentityPrincipal(providerBb.oidcProviderArn, {
    "IpAddress": {
      "aws:SourceIp": ["203.0.113.0/24", "198.51.100.7/32"],
    },
    "StringEquals": {
      "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:aud": "ari:cloud:bitbucket::workspace/84c08677-e352-4a1c-a107-6df387cfeef7",
    },
    "StringLike": {
      "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:sub": "{ac31e3a2-1111-4a2b-8c9d-0e1f2a3b4c5d}:{2222c1e6-9b1f-4c3e-8f7a-5d6e7f8a9b0c}:*",
      "sts:RoleSessionName": "bitbucket-*",
    },
  }),
  inlinePolicies: {
    "cloudfront-invalidate": iam.PolicyDocument.fromJson({
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "Invalidate",
          "Effect": "Allow",
          "Action": ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation", "cloudfront:ListInvalidations"],
          "Resource": "arn:" + cdk.Aws.PARTITION + ":cloudfront::123456789012:distribution/E2QWRUHAPOMQZL",
        },
      ],
    }),
    "s3-deploy": iam.PolicyDocument.fromJson({
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "ListBucket",
          "Effect": "Allow",
          "Action": "s3:ListBucket",
          "Resource": "arn:" + cdk.Aws.PARTITION + ":s3:::acme-docs-production",
          "Condition": {
            "StringLike": {
              "s3:prefix": "site/*",
            },
          },
        },
        {
          "Sid": "SyncObjects",
          "Effect": "Allow",
          "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"],
          "Resource": "arn:" + cdk.Aws.PARTITION + ":s3:::acme-docs-production/site/*",
        },
      ],
    }),
  },
  maxSessionDuration: cdk.Duration.seconds(7200),
});
cdk.Tags.of(roleDeployDocsProduction).add("app", "site");
cdk.Tags.of(roleDeployDocsProduction).add("cost-center", "42");
cdk.Tags.of(roleDeployDocsProduction).add("keyless:managed", "acme-web");
new cdk.CfnOutput(stack, "RoleDeployDocsProductionArn", {
  description: "ARN of the role deploy-docs-production",
  value: roleDeployDocsProduction.roleArn,
});

const roleDeployDocsStaging = new iam.Role(stack, "RoleDeployDocsStaging", {
  roleName: "deploy-docs-staging",
  path: "/ci/",
  description: "Deploys docs to staging",
  assumedBy: new iam.WebIdentityPrincipal(providerBb.oidcProviderArn, {
    "IpAddress": {
      "aws:SourceIp": ["203.0.113.0/24", "198.51.100.7/32"],
    },
    "StringEquals": {
      "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:aud": "ari:cloud:bitbucket::workspace/84c08677-e352-4a1c-a107-6df387cfeef7",
    },
    "StringLike": {
      "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:sub": "{ac31e3a2-1111-4a2b-8c9d-0e1f2a3b4c5d}:{1111c1e6-9b1f-4c3e-8f7a-5d6e7f8a9b0c}:*",
      "sts:RoleSessionName": "bitbucket-*",
    },
  }),
  inlinePolicies: {
    "cloudfront-invalidate": iam.PolicyDocument.fromJson({
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "Invalidate",
          "Effect": "Allow",
          "Action": ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation", "cloudfront:ListInvalidations"],
          "Resource": "arn:" + cdk.Aws.PARTITION + ":cloudfront::123456789012:distribution/E2QWRUHAPOMQZL",
        },
      ],
    }),
    "s3-deploy": iam.PolicyDocument.fromJson({
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "ListBucket",
          "Effect": "Allow",
          "Action": "s3:ListBucket",
          "Resource": "arn:" + cdk.Aws.PARTITION + ":s3:::acme-docs-staging",
          "Condition": {
            "StringLike": {
              "s3:prefix": "site/*",
            },
          },
        },
        {
          "Sid": "SyncObjects",
          "Effect": "Allow",
          "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"],
          "Resource": "arn:" + cdk.Aws.PARTITION + ":s3:::acme-docs-staging/site/*",
        },
      ],
    }),
  },
  maxSessionDuration: cdk.Duration.seconds(7200),
});
cdk.Tags.of(roleDeployDocsStaging).add("app", "site");
cdk.Tags.of(roleDeployDocsStaging).add("cost-center", "42");
cdk.Tags.of(roleDeployDocsStaging).add("keyless:managed", "acme-web");
new cdk.CfnOutput(stack, "RoleDeployDocsStagingArn", {
  description: "ARN of the role deploy-docs-staging",
  value: roleDeployDocsStaging.roleArn,
});

const roleDeployWebProduction = new iam.Role(stack, "RoleDeployWebProduction", {
  roleName: "deploy-web-production",
  path: "/ci/",
  description: "Deploys web to production",
  assumedBy: new iam.WebIdentityPrincipal(providerBb.oidcProviderArn, {
    "IpAddress": {
      "aws:SourceIp": ["203.0.113.0/24", "198.51.100.7/32"],
    },
    "StringEquals": {
      "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:aud": "ari:cloud:bitbucket::workspace/84c08677-e352-4a1c-a107-6df387cfeef7",
    },
    "StringLike": {
      "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:sub": "{13faecea-5b4a-4a2b-8c9d-0e1f2a3b4c5d}:{2222c1e6-9b1f-4c3e-8f7a-5d6e7f8a9b0c}:*",
      "sts:RoleSessionName": "bitbucket-*",
    },
  }),
  inlinePolicies: {
    "cloudfront-invalidate": iam.PolicyDocument.fromJson({
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "Invalidate",
          "Effect": "Allow",
          "Action": ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation", "cloudfront:ListInvalidations"],
          "Resource": "arn:" + cdk.Aws.PARTITION + ":cloudfront::123456789012:distribution/E2QWRUHAPOMQZL",
        },
      ],
    }),
    "s3-deploy": iam.PolicyDocument.fromJson({
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "ListBucket",
          "Effect": "Allow",
          "Action": "s3:ListBucket",
          "Resource": "arn:" + cdk.Aws.PARTITION + ":s3:::acme-web-production",
          "Condition": {
            "StringLike": {
              "s3:prefix": "site/*",
            },
          },
        },
        {
          "Sid": "SyncObjects",
          "Effect": "Allow",
          "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"],
          "Resource": "arn:" + cdk.Aws.PARTITION + ":s3:::acme-web-production/site/*",
        },
      ],
    }),
  },
  maxSessionDuration: cdk.Duration.seconds(7200),
});
cdk.Tags.of(roleDeployWebProduction).add("app", "site");
cdk.Tags.of(roleDeployWebProduction).add("cost-center", "42");
cdk.Tags.of(roleDeployWebProduction).add("keyless:managed", "acme-web");
new cdk.CfnOutput(stack, "RoleDeployWebProductionArn", {
  description: "ARN of the role deploy-web-production",
  value: roleDeployWebProduction.roleArn,
});

const roleDeployWebStaging = new iam.Role(stack, "RoleDeployWebStaging", {
  roleName: "deploy-web-staging",
  path: "/ci/",
  description: "Deploys web to staging",
  assumedBy: new iam.WebIdentityPrincipal(providerBb.oidcProviderArn, {
    "IpAddress": {
      "aws:SourceIp": ["203.0.113.0/24", "198.51.100.7/32"],
    },
    "StringEquals": {
      "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:aud": "ari:cloud:bitbucket::workspace/84c08677-e352-4a1c-a107-6df387cfeef7",
    },
    "StringLike": {
      "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:sub": "{13faecea-5b4a-4a2b-8c9d-0e1f2a3b4c5d}:{1111c1e6-9b1f-4c3e-8f7a-5d6e7f8a9b0c}:*",
      "sts:RoleSessionName": "bitbucket-*",
    },
  }),
  inlinePolicies: {
    "cloudfront-invalidate": iam.PolicyDocument.fromJson({
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "Invalidate",
          "Effect": "Allow",
          "Action": ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation", "cloudfront:ListInvalidations"],
          "Resource": "arn:" + cdk.Aws.PARTITION + ":cloudfront::123456789012:distribution/E2QWRUHAPOMQZL",
        },
      ],
    }),
    "s3-deploy": iam.PolicyDocument.fromJson({
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "ListBucket",
          "Effect": "Allow",
          "Action": "s3:ListBucket",
          "Resource": "arn:" + cdk.Aws.PARTITION + ":s3:::acme-web-staging",
          "Condition": {
            "StringLike": {
              "s3:prefix": "site/*",
            },
          },
        },
        {
          "Sid": "SyncObjects",
          "Effect": "Allow",
          "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"],
          "Resource": "arn:" + cdk.Aws.PARTITION + ":s3:::acme-web-staging/site/*",
        },
      ],
    }),
  },
  maxSessionDuration: cdk.Duration.seconds(7200),
});
cdk.Tags.of(roleDeployWebStaging).add("app", "site");
cdk.Tags.of(roleDeployWebStaging).add("cost-center", "42");
cdk.Tags.of(roleDeployWebStaging).add("keyless:managed", "acme-web");
new cdk.CfnOutput(stack, "RoleDeployWebStagingArn", {
  description: "ARN of the role deploy-web-staging",
  value: roleDeployWebStaging.roleArn,
});

app.synth();
