// Exchanges AWS_WEB_IDENTITY_TOKEN_FILE for AWS_ROLE_ARN's credentials with the
// SDK's own web-identity provider, then calls GetCallerIdentity with them. The
// endpoint comes from AWS_ENDPOINT_URL, as a user's environment would set it.
// Prints one JSON line: the identity, or the error's name and HTTP status.
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { fromTokenFile } from "@aws-sdk/credential-providers";

const region = process.env.AWS_REGION || "us-east-1";
try {
  const client = new STSClient({ region, credentials: fromTokenFile({ clientConfig: { region } }), maxAttempts: 1 });
  const out = await client.send(new GetCallerIdentityCommand({}));
  console.log(JSON.stringify({ Account: out.Account, Arn: out.Arn, UserId: out.UserId }));
} catch (err) {
  console.log(JSON.stringify({ error: err.name, status: err.$metadata?.httpStatusCode ?? null, message: err.message }));
  process.exitCode = 2;
}
