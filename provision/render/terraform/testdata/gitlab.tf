# IAM OpenID Connect providers and roles of the keyless config gl (keyless render).

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.81.0, < 6.0.0"
    }
  }
}

data "aws_partition" "current" {}

variable "buildkite_thumbprints" {
  description = "SHA-1 thumbprints (40 hex characters) of the certificate of https://agent.buildkite.com; empty for none: AWS then trusts the issuer by its certificate authority"
  type        = list(string)
  default     = []
}

resource "aws_iam_openid_connect_provider" "buildkite" {
  url             = "https://agent.buildkite.com"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = length(var.buildkite_thumbprints) > 0 ? var.buildkite_thumbprints : null
  tags = {
    "keyless:managed" = "gl"
  }
}

variable "gitlab_thumbprints" {
  description = "SHA-1 thumbprints (40 hex characters) of the certificate of https://gitlab.example.com; empty for none: AWS then trusts the issuer by its certificate authority"
  type        = list(string)
  default     = []
}

resource "aws_iam_openid_connect_provider" "gitlab" {
  url             = "https://gitlab.example.com"
  client_id_list  = ["https://gitlab.example.com"]
  thumbprint_list = length(var.gitlab_thumbprints) > 0 ? var.gitlab_thumbprints : null
  tags = {
    "keyless:managed" = "gl"
  }
}

resource "aws_iam_role" "audit" {
  name = "audit"
  path = "/"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "WebIdentity"
        Effect = "Allow"
        Principal = {
          Federated = aws_iam_openid_connect_provider.buildkite.arn
        }
        Action = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "agent.buildkite.com:aud" = "sts.amazonaws.com"
          }
        }
      },
    ]
  })
  max_session_duration = 3600
  tags = {
    "keyless:managed" = "gl"
  }
}

resource "aws_iam_role_policy_attachment" "audit_securityaudit" {
  role       = aws_iam_role.audit.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/SecurityAudit"
}

resource "aws_iam_role" "buildkite_web" {
  name = "buildkite-web"
  path = "/"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "WebIdentity"
        Effect = "Allow"
        Principal = {
          Federated = aws_iam_openid_connect_provider.buildkite.arn
        }
        Action = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "agent.buildkite.com:aud" = "sts.amazonaws.com"
          }
          StringLike = {
            "agent.buildkite.com:sub" = "organization:acme:pipeline:web:ref:refs/heads/main:*"
          }
        }
      },
    ]
  })
  max_session_duration = 3600
  tags = {
    "keyless:managed" = "gl"
  }
}

resource "aws_iam_role_policy_attachment" "buildkite_web_readonlyaccess" {
  role       = aws_iam_role.buildkite_web.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_iam_role" "deploy_cli_main" {
  name = "deploy-cli-main"
  path = "/"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "WebIdentity"
        Effect = "Allow"
        Principal = {
          Federated = aws_iam_openid_connect_provider.gitlab.arn
        }
        Action = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "gitlab.example.com:aud" = "https://gitlab.example.com"
            "gitlab.example.com:sub" = "project_path:platform/tools/cli:ref_type:branch:ref:main"
          }
        }
      },
    ]
  })
  max_session_duration = 3600
  tags = {
    "keyless:managed" = "gl"
  }
}

resource "aws_iam_role_policy" "deploy_cli_main_s3_deploy" {
  role = aws_iam_role.deploy_cli_main.name
  name = "s3-deploy"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListBucket"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = "arn:${data.aws_partition.current.partition}:s3:::gl-cli"
      },
      {
        Sid      = "SyncObjects"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"]
        Resource = "arn:${data.aws_partition.current.partition}:s3:::gl-cli/*"
      },
    ]
  })
}

resource "aws_iam_role" "deploy_web_main" {
  name = "deploy-web-main"
  path = "/"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "WebIdentity"
        Effect = "Allow"
        Principal = {
          Federated = aws_iam_openid_connect_provider.gitlab.arn
        }
        Action = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "gitlab.example.com:aud" = "https://gitlab.example.com"
            "gitlab.example.com:sub" = "project_path:platform/web:ref_type:branch:ref:main"
          }
        }
      },
    ]
  })
  max_session_duration = 3600
  tags = {
    "keyless:managed" = "gl"
  }
}

resource "aws_iam_role_policy" "deploy_web_main_s3_deploy" {
  role = aws_iam_role.deploy_web_main.name
  name = "s3-deploy"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListBucket"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = "arn:${data.aws_partition.current.partition}:s3:::gl-web"
      },
      {
        Sid      = "SyncObjects"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"]
        Resource = "arn:${data.aws_partition.current.partition}:s3:::gl-web/*"
      },
    ]
  })
}

resource "aws_iam_role" "release_web" {
  name = "release-web"
  path = "/"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "WebIdentity"
        Effect = "Allow"
        Principal = {
          Federated = aws_iam_openid_connect_provider.gitlab.arn
        }
        Action = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "gitlab.example.com:aud" = "https://gitlab.example.com"
          }
          StringLike = {
            "gitlab.example.com:sub" = "project_path:platform/web:ref_type:branch:ref:release-*"
          }
        }
      },
    ]
  })
  max_session_duration = 3600
  tags = {
    "keyless:managed" = "gl"
  }
}

output "buildkite_provider_arn" {
  description = "ARN of the OpenID Connect provider https://agent.buildkite.com"
  value       = aws_iam_openid_connect_provider.buildkite.arn
}

output "gitlab_provider_arn" {
  description = "ARN of the OpenID Connect provider https://gitlab.example.com"
  value       = aws_iam_openid_connect_provider.gitlab.arn
}

output "audit_role_arn" {
  description = "ARN of the role audit"
  value       = aws_iam_role.audit.arn
}

output "buildkite_web_role_arn" {
  description = "ARN of the role buildkite-web"
  value       = aws_iam_role.buildkite_web.arn
}

output "deploy_cli_main_role_arn" {
  description = "ARN of the role deploy-cli-main"
  value       = aws_iam_role.deploy_cli_main.arn
}

output "deploy_web_main_role_arn" {
  description = "ARN of the role deploy-web-main"
  value       = aws_iam_role.deploy_web_main.arn
}

output "release_web_role_arn" {
  description = "ARN of the role release-web"
  value       = aws_iam_role.release_web.arn
}
