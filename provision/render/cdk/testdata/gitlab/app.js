// IAM OpenID Connect providers and roles of the keyless config gl (keyless render).
// `node app.js` synthesizes the stack into CDK_OUTDIR (default cdk.out); `npx cdk deploy` deploys it.
"use strict";
const cdk = require("aws-cdk-lib");
const iam = require("aws-cdk-lib/aws-iam");

const app = new cdk.App();
const stack = new cdk.Stack(app, "keyless-gl", {
  description: "IAM OpenID Connect providers and roles of the keyless config gl (keyless render)",
});

const providerBuildkite = new iam.OidcProviderNative(stack, "ProviderBuildkite", {
  url: "https://agent.buildkite.com",
  clientIds: ["sts.amazonaws.com"],
});
cdk.Tags.of(providerBuildkite).add("keyless:managed", "gl");
new cdk.CfnOutput(stack, "ProviderBuildkiteArn", {
  description: "ARN of the OpenID Connect provider https://agent.buildkite.com",
  value: providerBuildkite.oidcProviderArn,
});

const providerGitlab = new iam.OidcProviderNative(stack, "ProviderGitlab", {
  url: "https://gitlab.example.com",
  clientIds: ["https://gitlab.example.com"],
});
cdk.Tags.of(providerGitlab).add("keyless:managed", "gl");
new cdk.CfnOutput(stack, "ProviderGitlabArn", {
  description: "ARN of the OpenID Connect provider https://gitlab.example.com",
  value: providerGitlab.oidcProviderArn,
});

const roleAudit = new iam.Role(stack, "RoleAudit", {
  roleName: "audit",
  path: "/",
  assumedBy: new iam.WebIdentityPrincipal(providerBuildkite.oidcProviderArn, {
    "StringEquals": {
      "agent.buildkite.com:aud": "sts.amazonaws.com",
    },
  }),
  managedPolicies: [
    iam.ManagedPolicy.fromManagedPolicyArn(stack, "RoleAuditManaged1", "arn:" + cdk.Aws.PARTITION + ":iam::aws:policy/SecurityAudit"),
  ],
  maxSessionDuration: cdk.Duration.seconds(3600),
});
cdk.Tags.of(roleAudit).add("keyless:managed", "gl");
new cdk.CfnOutput(stack, "RoleAuditArn", {
  description: "ARN of the role audit",
  value: roleAudit.roleArn,
});

const roleBuildkiteWeb = new iam.Role(stack, "RoleBuildkiteWeb", {
  roleName: "buildkite-web",
  path: "/",
  assumedBy: new iam.WebIdentityPrincipal(providerBuildkite.oidcProviderArn, {
    "StringEquals": {
      "agent.buildkite.com:aud": "sts.amazonaws.com",
    },
    "StringLike": {
      "agent.buildkite.com:sub": "organization:acme:pipeline:web:ref:refs/heads/main:*",
    },
  }),
  managedPolicies: [
    iam.ManagedPolicy.fromManagedPolicyArn(stack, "RoleBuildkiteWebManaged1", "arn:" + cdk.Aws.PARTITION + ":iam::aws:policy/ReadOnlyAccess"),
  ],
  maxSessionDuration: cdk.Duration.seconds(3600),
});
cdk.Tags.of(roleBuildkiteWeb).add("keyless:managed", "gl");
new cdk.CfnOutput(stack, "RoleBuildkiteWebArn", {
  description: "ARN of the role buildkite-web",
  value: roleBuildkiteWeb.roleArn,
});

const roleDeployCliMain = new iam.Role(stack, "RoleDeployCliMain", {
  roleName: "deploy-cli-main",
  path: "/",
  assumedBy: new iam.WebIdentityPrincipal(providerGitlab.oidcProviderArn, {
    "StringEquals": {
      "gitlab.example.com:aud": "https://gitlab.example.com",
      "gitlab.example.com:sub": "project_path:platform/tools/cli:ref_type:branch:ref:main",
    },
  }),
  inlinePolicies: {
    "s3-deploy": iam.PolicyDocument.fromJson({
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "ListBucket",
          "Effect": "Allow",
          "Action": "s3:ListBucket",
          "Resource": "arn:" + cdk.Aws.PARTITION + ":s3:::gl-cli",
        },
        {
          "Sid": "SyncObjects",
          "Effect": "Allow",
          "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"],
          "Resource": "arn:" + cdk.Aws.PARTITION + ":s3:::gl-cli/*",
        },
      ],
    }),
  },
  maxSessionDuration: cdk.Duration.seconds(3600),
});
cdk.Tags.of(roleDeployCliMain).add("keyless:managed", "gl");
new cdk.CfnOutput(stack, "RoleDeployCliMainArn", {
  description: "ARN of the role deploy-cli-main",
  value: roleDeployCliMain.roleArn,
});

const roleDeployWebMain = new iam.Role(stack, "RoleDeployWebMain", {
  roleName: "deploy-web-main",
  path: "/",
  assumedBy: new iam.WebIdentityPrincipal(providerGitlab.oidcProviderArn, {
    "StringEquals": {
      "gitlab.example.com:aud": "https://gitlab.example.com",
      "gitlab.example.com:sub": "project_path:platform/web:ref_type:branch:ref:main",
    },
  }),
  inlinePolicies: {
    "s3-deploy": iam.PolicyDocument.fromJson({
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "ListBucket",
          "Effect": "Allow",
          "Action": "s3:ListBucket",
          "Resource": "arn:" + cdk.Aws.PARTITION + ":s3:::gl-web",
        },
        {
          "Sid": "SyncObjects",
          "Effect": "Allow",
          "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"],
          "Resource": "arn:" + cdk.Aws.PARTITION + ":s3:::gl-web/*",
        },
      ],
    }),
  },
  maxSessionDuration: cdk.Duration.seconds(3600),
});
cdk.Tags.of(roleDeployWebMain).add("keyless:managed", "gl");
new cdk.CfnOutput(stack, "RoleDeployWebMainArn", {
  description: "ARN of the role deploy-web-main",
  value: roleDeployWebMain.roleArn,
});

const roleReleaseWeb = new iam.Role(stack, "RoleReleaseWeb", {
  roleName: "release-web",
  path: "/",
  assumedBy: new iam.WebIdentityPrincipal(providerGitlab.oidcProviderArn, {
    "StringEquals": {
      "gitlab.example.com:aud": "https://gitlab.example.com",
    },
    "StringLike": {
      "gitlab.example.com:sub": "project_path:platform/web:ref_type:branch:ref:release-*",
    },
  }),
  maxSessionDuration: cdk.Duration.seconds(3600),
});
cdk.Tags.of(roleReleaseWeb).add("keyless:managed", "gl");
new cdk.CfnOutput(stack, "RoleReleaseWebArn", {
  description: "ARN of the role release-web",
  value: roleReleaseWeb.roleArn,
});

app.synth();
