// Package s3sync syncs a local directory to an S3 bucket by content: it lists
// the bucket once, decides from the listing (and keyless's deploy manifest)
// which files are new, changed or only need new headers, and uploads,
// updates and deletes exactly those.
//
// # Comparing
//
// With the default comparison (CompareHash) a file is unchanged when its
// bytes equal the object's, decided from the ListObjectsV2 listing alone:
// a file whose size differs from the object's is changed without reading
// it; otherwise it is hashed (concurrently, streaming, one read) and
// compared with the object's ETag. A single-part object's ETag is the MD5 of
// its bytes; a multipart object's is the MD5 of its parts' MD5s, "-" and the
// number of parts N, which depends on the part size the uploader used. The
// file is hashed at each part size that gives the object's size N parts:
// the sync's own PartSize and the usual tools' (5 MiB: the Go, JavaScript
// and Java SDKs, rclone; 8 MiB: the aws CLI, boto3; 15 MiB: s3cmd; 16 MiB;
// 50 MiB: s5cmd; 32, 64, 100, 128, 256, 512 MiB and 1 GiB), so objects other
// tools uploaded are recognised. An object whose ETag is neither (such as
// one encrypted with SSE-KMS) is recognised through the manifest's
// "content" field once keyless has uploaded it; before that it is uploaded.
// Modification times play no part. CompareSize (same size) and
// CompareSizeMTime (same size, and the object not older than the file, as
// aws s3 sync compares) are the fallbacks.
//
// Files Options.Gzip selects are compared, and uploaded, as their gzip
// compression: GzipLevel, no name or time in the header, so the same file
// always gives the same bytes and ETag.
//
// # Headers and the deploy manifest
//
// Each file's headers are Content-Type (Options.ContentType, else
// deploy/mimetype's table), Cache-Control (Options.CacheControl),
// Content-Encoding (gzip for the files Options.Gzip selects, else
// Options.ContentEncoding), Expires, x-amz-acl and x-amz-storage-class. An
// object whose content is equal but whose headers differ is updated in
// place: a CopyObject onto itself with MetadataDirective REPLACE (and
// x-amz-copy-source-if-match its ETag), never a re-upload. (CopyObject
// cannot copy an object larger than 5 GB; such an object's header change
// fails with S3's error.)
//
// A listing does not show headers, so keyless keeps a deploy manifest, the
// object PREFIX + ManifestName (".keyless-deploy.json"): read with one
// GetObject at the start, written with one PutObject at the end when it
// differs from what was read (something changed, or it was missing or
// stale). It is JSON:
//
//	{"format":"keyless-deploy/1",
//	 "objects":{
//	   "index.html":{"etag":"9e107d9d372bb6826bd81d3542a419d6","headers":"5f1c2a3b4d5e6f708192a3b4"},
//	   "app.js":{"etag":"e5b1c0…","headers":"…","content":"0cc175b9…"}}}
//
// with an entry per file synced, by key relative to the prefix: "etag" the
// object's ETag (unquoted) when keyless wrote or checked it; "headers" a
// digest (the first 12 bytes of a SHA-256, in hex) of the headers keyless
// set; "content", only when "etag" is not the MD5-based ETag of the bytes,
// that ETag as keyless computed it while uploading. An entry speaks for the
// object only while the listing shows the same ETag. An object whose entry
// is missing or stale (someone else wrote it) gets a HeadObject, and only
// those; with Options.Manifest false no manifest is read or written and
// every object with equal content gets a HeadObject. A HeadObject does not
// show the ACL: an object checked that way is taken to have the ACL asked.
// A header change another tool makes with CopyObject keeps the ETag and
// goes unnoticed while the manifest vouches for the object; sync with
// Options.Manifest false to check every object. The manifest is never
// uploaded as a site file (a local file of that name at the top of the
// source is skipped with a warning), never deleted by Options.Delete and
// never in Result.Changed. It is written private (only a bucket-owner-* ACL
// is passed on) with Cache-Control: no-store; it names every key synced.
//
// # Deleting, dry runs, failures
//
// With Options.Delete the objects under the prefix with no source file are
// deleted, those the filter selects (by key relative to the prefix), with
// DeleteObjects of up to 1,000 keys; each key's error is reported. Deletes
// run after every upload and update succeeded, and not at all when one
// failed (the old objects may still be needed by the old pages left).
//
// With Options.DryRun the sync compares everything (reading the listing,
// the manifest, the files, and HeadObject where needed) and changes
// nothing; the Result and the Progress events say what it would do.
//
// A failed upload leaves the old object (a PUT and a multipart upload
// complete atomically). A file that cannot be read, or a dangling symbolic
// link, fails the sync before anything changes, naming it. When some keys
// fail the others are done, Sync returns a *FailedError listing them, and
// the manifest is written with the entries of what is known to be right
// (the unchanged objects and the successful uploads and updates; the failed
// keys get no entry, so the next sync checks them), so that it never
// vouches for an object keyless did not write.
//
// # Transfers
//
// Hashing, uploads, copies and HeadObjects run Options.Concurrency at a
// time, and at most Options.Concurrency requests are in flight in all
// (parts of large files and small files share the bound). Files larger than
// Options.PartSize are uploaded in parts by the SDK's transfer manager,
// streamed from the file at offsets (no part is buffered in memory); a
// gzip-compressed upload is held in memory up to 1 MiB, else in a
// temporary file. Bytes are reported to Progress.Transferred as they are
// first read; a part re-read by the SDK (to checksum it before sending over
// plain HTTP, or to retry) is not counted twice.
//
// # The client
//
// Sync takes any S3API; the caller builds the *s3.Client with
// ClientOptions(concurrency), which sets the retryer (retries of throttling,
// 5xx and connection errors with exponential backoff, MaxAttempts attempts,
// no client-side retry quota) and enough idle connections per host. The
// caller also sets UsePathStyle for endpoints that need it (keyless up,
// other S3-compatible servers on an IP address or localhost) and keeps the
// SDK's default checksums (RequestChecksumCalculation WhenSupported).
//
// The permissions a sync needs on the bucket: s3:ListBucket (on the bucket,
// for the prefix), s3:GetObject (the manifest, HeadObject and the source of
// CopyObject), s3:PutObject (uploads, updates, the manifest),
// s3:DeleteObject with Options.Delete, and s3:PutObjectAcl with Options.ACL.
package s3sync
