# IAM OpenID Connect providers and roles of the keyless config github (keyless render).

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.81.0, < 6.0.0"
    }
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

variable "gh_thumbprints" {
  description = "SHA-1 thumbprints (40 hex characters) of the certificate of https://token.actions.githubusercontent.com; empty for none: AWS then trusts the issuer by its certificate authority"
  type        = list(string)
  default     = []
}

resource "aws_iam_openid_connect_provider" "gh" {
  url             = "https://token.actions.githubusercontent.com"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = length(var.gh_thumbprints) > 0 ? var.gh_thumbprints : null
  tags = {
    "keyless:managed" = "github"
  }
}

resource "aws_iam_role" "deploy_api_production" {
  name = "deploy-api-production"
  path = "/"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "WebIdentity"
        Effect = "Allow"
        Principal = {
          Federated = aws_iam_openid_connect_provider.gh.arn
        }
        Action = ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]
        Condition = {
          StringEquals = {
            "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
            "token.actions.githubusercontent.com:sub" = "repo:acme/api:environment:production"
          }
        }
      },
    ]
  })
  max_session_duration = 3600
  tags = {
    "keyless:managed" = "github"
  }
}

resource "aws_iam_role_policy" "deploy_api_production_s3_deploy" {
  role = aws_iam_role.deploy_api_production.name
  name = "s3-deploy"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListBucket"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = "arn:${data.aws_partition.current.partition}:s3:::acme-api"
      },
      {
        Sid      = "SyncObjects"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"]
        Resource = "arn:${data.aws_partition.current.partition}:s3:::acme-api/*"
      },
    ]
  })
}

resource "aws_iam_role" "deploy_web_production" {
  name = "deploy-web-production"
  path = "/"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "WebIdentity"
        Effect = "Allow"
        Principal = {
          Federated = aws_iam_openid_connect_provider.gh.arn
        }
        Action = ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]
        Condition = {
          StringEquals = {
            "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
            "token.actions.githubusercontent.com:sub" = "repo:acme/web:environment:production"
          }
        }
      },
    ]
  })
  max_session_duration = 3600
  tags = {
    "keyless:managed" = "github"
  }
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
        Resource = "arn:${data.aws_partition.current.partition}:s3:::acme-web"
      },
      {
        Sid      = "SyncObjects"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"]
        Resource = "arn:${data.aws_partition.current.partition}:s3:::acme-web/*"
      },
    ]
  })
}

resource "aws_iam_role" "release_web" {
  name        = "release-web"
  path        = "/"
  description = "Releases of acme/web"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "WebIdentity"
        Effect = "Allow"
        Principal = {
          Federated = aws_iam_openid_connect_provider.gh.arn
        }
        Action = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
            "token.actions.githubusercontent.com:sub" = "repo:acme/web:ref:refs/heads/main"
          }
        }
      },
    ]
  })
  max_session_duration = 3600
  tags = {
    "keyless:managed" = "github"
  }
}

resource "aws_iam_role_policy" "release_web_codeartifact_read" {
  role = aws_iam_role.release_web.name
  name = "codeartifact-read"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "AuthorizationToken"
        Effect   = "Allow"
        Action   = "codeartifact:GetAuthorizationToken"
        Resource = "arn:${data.aws_partition.current.partition}:codeartifact:eu-west-1:${data.aws_caller_identity.current.account_id}:domain/acme"
      },
      {
        Sid      = "BearerToken"
        Effect   = "Allow"
        Action   = "sts:GetServiceBearerToken"
        Resource = "*"
        Condition = {
          StringEquals = {
            "sts:AWSServiceName" = "codeartifact.amazonaws.com"
          }
        }
      },
      {
        Sid      = "ReadRepository"
        Effect   = "Allow"
        Action   = ["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"]
        Resource = "arn:${data.aws_partition.current.partition}:codeartifact:eu-west-1:${data.aws_caller_identity.current.account_id}:repository/acme/npm-store"
      },
    ]
  })
}

output "gh_provider_arn" {
  description = "ARN of the OpenID Connect provider https://token.actions.githubusercontent.com"
  value       = aws_iam_openid_connect_provider.gh.arn
}

output "deploy_api_production_role_arn" {
  description = "ARN of the role deploy-api-production"
  value       = aws_iam_role.deploy_api_production.arn
}

output "deploy_web_production_role_arn" {
  description = "ARN of the role deploy-web-production"
  value       = aws_iam_role.deploy_web_production.arn
}

output "release_web_role_arn" {
  description = "ARN of the role release-web"
  value       = aws_iam_role.release_web.arn
}
