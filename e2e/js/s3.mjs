// Drives S3 with @aws-sdk/client-s3 as a user's script would: credentials from
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the endpoint from AWS_ENDPOINT_URL_S3,
// the SDK's default checksums. Usage: node s3.mjs BUCKET KEY IN OUT
// PutObject uploads file IN as KEY, GetObject (ChecksumMode ENABLED) reads it
// back into file OUT, and ListObjectsV2 lists the bucket. Prints one JSON line:
// what the calls returned, or the error's name and HTTP status.
import { readFile, writeFile } from "node:fs/promises";
import { S3Client, PutObjectCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";

const [bucket, key, inPath, outPath] = process.argv.slice(2);
const region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || "us-east-1";
try {
  const client = new S3Client({ region, forcePathStyle: true, maxAttempts: 1 });
  const body = await readFile(inPath);
  const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  const get = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }));
  // The SDK validates the body against the checksum header as it is read.
  await writeFile(outPath, await get.Body.transformToByteArray());
  const list = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  console.log(JSON.stringify({
    put: { ETag: put.ETag, ChecksumCRC32: put.ChecksumCRC32 ?? null },
    get: { ETag: get.ETag, ChecksumCRC32: get.ChecksumCRC32 ?? null, ContentLength: get.ContentLength },
    list: (list.Contents ?? []).map((o) => ({ Key: o.Key, Size: o.Size, ETag: o.ETag })),
  }));
} catch (err) {
  console.log(JSON.stringify({ error: err.name, status: err.$metadata?.httpStatusCode ?? null, message: err.message }));
  process.exitCode = 2;
}
