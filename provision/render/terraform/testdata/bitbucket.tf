# IAM OpenID Connect providers and roles of the keyless config acme-web (keyless render).

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.81.0, < 6.0.0"
    }
  }
}

data "aws_partition" "current" {}

variable "bb_thumbprints" {
  description = "SHA-1 thumbprints (40 hex characters) of the certificate of https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc; empty for none: AWS then trusts the issuer by its certificate authority"
  type        = list(string)
  default     = ["a031c46782e6e6c662c2c87c76da9aa62ccabd8e"]
}

resource "aws_iam_openid_connect_provider" "bb" {
  url             = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
  client_id_list  = ["ari:cloud:bitbucket::workspace/84c08677-e352-4a1c-a107-6df387cfeef7"]
  thumbprint_list = length(var.bb_thumbprints) > 0 ? var.bb_thumbprints : null
  tags = {
    "cost-center"     = "42"
    "keyless:managed" = "acme-web"
    "team"            = "platform"
  }
}

resource "aws_iam_role" "cdk_infra" {
  name        = "cdk-infra"
  path        = "/"
  description = "CDK deployments of acme/infra"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "WebIdentity"
        Effect = "Allow"
        Principal = {
          Federated = aws_iam_openid_connect_provider.bb.arn
        }
        Action = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          IpAddress = {
            "aws:SourceIp" = ["104.192.136.0/21", "185.166.140.0/22", "2401:1d80:1010::/64"]
          }
          StringEquals = {
            "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:aud" = "ari:cloud:bitbucket::workspace/84c08677-e352-4a1c-a107-6df387cfeef7"
          }
          StringLike = {
            "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:sub" = "{3333aaaa-5b4a-4a2b-8c9d-0e1f2a3b4c5d}:*"
          }
        }
      },
    ]
  })
  permissions_boundary = "arn:${data.aws_partition.current.partition}:iam::123456789012:policy/ci-boundary"
  max_session_duration = 3600
  tags = {
    "cost-center"     = "42"
    "keyless:managed" = "acme-web"
  }
}

resource "aws_iam_role_policy" "cdk_infra_cdk_deploy" {
  role = aws_iam_role.cdk_infra.name
  name = "cdk-deploy"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ThroughCloudFormation"
        Effect   = "Allow"
        Action   = "*"
        Resource = "*"
        Condition = {
          "ForAnyValue:StringEquals" = {
            "aws:CalledVia" = "cloudformation.amazonaws.com"
          }
        }
      },
      {
        Sid      = "CDKAssets"
        Effect   = "Allow"
        Action   = "s3:*"
        Resource = ["arn:${data.aws_partition.current.partition}:s3:::cdk-*stagingbucket-*", "arn:${data.aws_partition.current.partition}:s3:::cdk-hnb659fds-assets-*"]
      },
      {
        Sid      = "CDKBootstrapRoles"
        Effect   = "Allow"
        Action   = ["iam:PassRole", "sts:AssumeRole"]
        Resource = "arn:${data.aws_partition.current.partition}:iam::*:role/cdk-hnb659fds-*-role-*"
      },
      {
        Sid      = "ChangeSets"
        Effect   = "Allow"
        Action   = ["cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:DescribeChangeSet", "cloudformation:DescribeStackEvents", "cloudformation:DescribeStacks", "cloudformation:ExecuteChangeSet", "cloudformation:GetTemplate", "cloudformation:ValidateTemplate"]
        Resource = "*"
      },
      {
        Sid      = "EventBuses"
        Effect   = "Allow"
        Action   = "events:PutEvents"
        Resource = "arn:${data.aws_partition.current.partition}:events:*:123456789012:event-bus/*"
      },
    ]
  })
}

resource "aws_iam_role_policy" "cdk_infra_parameters" {
  role = aws_iam_role.cdk_infra.name
  name = "parameters"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = "ssm:GetParameter"
        Resource = "arn:${data.aws_partition.current.partition}:ssm:eu-west-1:123456789012:parameter/ci/*"
      },
    ]
  })
}

resource "aws_iam_role_policy_attachment" "cdk_infra_awscodeartifactreadonlyaccess" {
  role       = aws_iam_role.cdk_infra.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AWSCodeArtifactReadOnlyAccess"
}

resource "aws_iam_role_policy_attachment" "cdk_infra_readonlyaccess" {
  role       = aws_iam_role.cdk_infra.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_iam_role" "deploy_docs_production" {
  name        = "deploy-docs-production"
  path        = "/ci/"
  description = "Deploys docs to production"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "WebIdentity"
        Effect = "Allow"
        Principal = {
          Federated = aws_iam_openid_connect_provider.bb.arn
        }
        Action = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          IpAddress = {
            "aws:SourceIp" = ["203.0.113.0/24", "198.51.100.7/32"]
          }
          StringEquals = {
            "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:aud" = "ari:cloud:bitbucket::workspace/84c08677-e352-4a1c-a107-6df387cfeef7"
          }
          StringLike = {
            "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:sub" = "{ac31e3a2-1111-4a2b-8c9d-0e1f2a3b4c5d}:{2222c1e6-9b1f-4c3e-8f7a-5d6e7f8a9b0c}:*"
            "sts:RoleSessionName"                                                      = "bitbucket-*"
          }
        }
      },
    ]
  })
  max_session_duration = 7200
  tags = {
    "app"             = "site"
    "cost-center"     = "42"
    "keyless:managed" = "acme-web"
  }
}

resource "aws_iam_role_policy" "deploy_docs_production_cloudfront_invalidate" {
  role = aws_iam_role.deploy_docs_production.name
  name = "cloudfront-invalidate"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "Invalidate"
        Effect   = "Allow"
        Action   = ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation", "cloudfront:ListInvalidations"]
        Resource = "arn:${data.aws_partition.current.partition}:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL"
      },
    ]
  })
}

resource "aws_iam_role_policy" "deploy_docs_production_s3_deploy" {
  role = aws_iam_role.deploy_docs_production.name
  name = "s3-deploy"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListBucket"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = "arn:${data.aws_partition.current.partition}:s3:::acme-docs-production"
        Condition = {
          StringLike = {
            "s3:prefix" = "site/*"
          }
        }
      },
      {
        Sid      = "SyncObjects"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"]
        Resource = "arn:${data.aws_partition.current.partition}:s3:::acme-docs-production/site/*"
      },
    ]
  })
}

resource "aws_iam_role" "deploy_docs_staging" {
  name        = "deploy-docs-staging"
  path        = "/ci/"
  description = "Deploys docs to staging"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "WebIdentity"
        Effect = "Allow"
        Principal = {
          Federated = aws_iam_openid_connect_provider.bb.arn
        }
        Action = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          IpAddress = {
            "aws:SourceIp" = ["203.0.113.0/24", "198.51.100.7/32"]
          }
          StringEquals = {
            "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:aud" = "ari:cloud:bitbucket::workspace/84c08677-e352-4a1c-a107-6df387cfeef7"
          }
          StringLike = {
            "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:sub" = "{ac31e3a2-1111-4a2b-8c9d-0e1f2a3b4c5d}:{1111c1e6-9b1f-4c3e-8f7a-5d6e7f8a9b0c}:*"
            "sts:RoleSessionName"                                                      = "bitbucket-*"
          }
        }
      },
    ]
  })
  max_session_duration = 7200
  tags = {
    "app"             = "site"
    "cost-center"     = "42"
    "keyless:managed" = "acme-web"
  }
}

resource "aws_iam_role_policy" "deploy_docs_staging_cloudfront_invalidate" {
  role = aws_iam_role.deploy_docs_staging.name
  name = "cloudfront-invalidate"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "Invalidate"
        Effect   = "Allow"
        Action   = ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation", "cloudfront:ListInvalidations"]
        Resource = "arn:${data.aws_partition.current.partition}:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL"
      },
    ]
  })
}

resource "aws_iam_role_policy" "deploy_docs_staging_s3_deploy" {
  role = aws_iam_role.deploy_docs_staging.name
  name = "s3-deploy"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListBucket"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = "arn:${data.aws_partition.current.partition}:s3:::acme-docs-staging"
        Condition = {
          StringLike = {
            "s3:prefix" = "site/*"
          }
        }
      },
      {
        Sid      = "SyncObjects"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"]
        Resource = "arn:${data.aws_partition.current.partition}:s3:::acme-docs-staging/site/*"
      },
    ]
  })
}

resource "aws_iam_role" "deploy_web_production" {
  name        = "deploy-web-production"
  path        = "/ci/"
  description = "Deploys web to production"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "WebIdentity"
        Effect = "Allow"
        Principal = {
          Federated = aws_iam_openid_connect_provider.bb.arn
        }
        Action = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          IpAddress = {
            "aws:SourceIp" = ["203.0.113.0/24", "198.51.100.7/32"]
          }
          StringEquals = {
            "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:aud" = "ari:cloud:bitbucket::workspace/84c08677-e352-4a1c-a107-6df387cfeef7"
          }
          StringLike = {
            "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:sub" = "{13faecea-5b4a-4a2b-8c9d-0e1f2a3b4c5d}:{2222c1e6-9b1f-4c3e-8f7a-5d6e7f8a9b0c}:*"
            "sts:RoleSessionName"                                                      = "bitbucket-*"
          }
        }
      },
    ]
  })
  max_session_duration = 7200
  tags = {
    "app"             = "site"
    "cost-center"     = "42"
    "keyless:managed" = "acme-web"
  }
}

resource "aws_iam_role_policy" "deploy_web_production_cloudfront_invalidate" {
  role = aws_iam_role.deploy_web_production.name
  name = "cloudfront-invalidate"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "Invalidate"
        Effect   = "Allow"
        Action   = ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation", "cloudfront:ListInvalidations"]
        Resource = "arn:${data.aws_partition.current.partition}:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL"
      },
    ]
  })
}

resource "aws_iam_role_policy" "deploy_web_production_s3_deploy" {
  role = aws_iam_role.deploy_web_production.name
  name = "s3-deploy"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListBucket"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = "arn:${data.aws_partition.current.partition}:s3:::acme-web-production"
        Condition = {
          StringLike = {
            "s3:prefix" = "site/*"
          }
        }
      },
      {
        Sid      = "SyncObjects"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"]
        Resource = "arn:${data.aws_partition.current.partition}:s3:::acme-web-production/site/*"
      },
    ]
  })
}

resource "aws_iam_role" "deploy_web_staging" {
  name        = "deploy-web-staging"
  path        = "/ci/"
  description = "Deploys web to staging"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "WebIdentity"
        Effect = "Allow"
        Principal = {
          Federated = aws_iam_openid_connect_provider.bb.arn
        }
        Action = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          IpAddress = {
            "aws:SourceIp" = ["203.0.113.0/24", "198.51.100.7/32"]
          }
          StringEquals = {
            "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:aud" = "ari:cloud:bitbucket::workspace/84c08677-e352-4a1c-a107-6df387cfeef7"
          }
          StringLike = {
            "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:sub" = "{13faecea-5b4a-4a2b-8c9d-0e1f2a3b4c5d}:{1111c1e6-9b1f-4c3e-8f7a-5d6e7f8a9b0c}:*"
            "sts:RoleSessionName"                                                      = "bitbucket-*"
          }
        }
      },
    ]
  })
  max_session_duration = 7200
  tags = {
    "app"             = "site"
    "cost-center"     = "42"
    "keyless:managed" = "acme-web"
  }
}

resource "aws_iam_role_policy" "deploy_web_staging_cloudfront_invalidate" {
  role = aws_iam_role.deploy_web_staging.name
  name = "cloudfront-invalidate"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "Invalidate"
        Effect   = "Allow"
        Action   = ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation", "cloudfront:ListInvalidations"]
        Resource = "arn:${data.aws_partition.current.partition}:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL"
      },
    ]
  })
}

resource "aws_iam_role_policy" "deploy_web_staging_s3_deploy" {
  role = aws_iam_role.deploy_web_staging.name
  name = "s3-deploy"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListBucket"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = "arn:${data.aws_partition.current.partition}:s3:::acme-web-staging"
        Condition = {
          StringLike = {
            "s3:prefix" = "site/*"
          }
        }
      },
      {
        Sid      = "SyncObjects"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"]
        Resource = "arn:${data.aws_partition.current.partition}:s3:::acme-web-staging/site/*"
      },
    ]
  })
}

output "bb_provider_arn" {
  description = "ARN of the OpenID Connect provider https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
  value       = aws_iam_openid_connect_provider.bb.arn
}

output "cdk_infra_role_arn" {
  description = "ARN of the role cdk-infra"
  value       = aws_iam_role.cdk_infra.arn
}

output "deploy_docs_production_role_arn" {
  description = "ARN of the role deploy-docs-production"
  value       = aws_iam_role.deploy_docs_production.arn
}

output "deploy_docs_staging_role_arn" {
  description = "ARN of the role deploy-docs-staging"
  value       = aws_iam_role.deploy_docs_staging.arn
}

output "deploy_web_production_role_arn" {
  description = "ARN of the role deploy-web-production"
  value       = aws_iam_role.deploy_web_production.arn
}

output "deploy_web_staging_role_arn" {
  description = "ARN of the role deploy-web-staging"
  value       = aws_iam_role.deploy_web_staging.arn
}
