// Package awsapi is the wire layer shared by keyless's local AWS services
// (IAM, STS, later S3 and CloudFront): AWS Query-protocol request decoding,
// XML result and error envelopes, AWS-shaped errors, request IDs, and AWS
// Signature Version 4 verification for header-signed and presigned requests.
//
// It holds no service logic and imports nothing else from keyless.
package awsapi
