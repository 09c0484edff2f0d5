package s3

// dataEvents are the object-level operations: what CloudTrail records as S3
// data events, which trails leave out unless asked for, being high-volume.
// Bucket-level operations (CreateBucket, PutBucketPolicy, ListBuckets, …) are
// management events, which CloudTrail always records.
var dataEvents = map[string]bool{
	"GetObject": true, "HeadObject": true, "PutObject": true, "CopyObject": true,
	"DeleteObject": true, "DeleteObjects": true, "GetObjectAcl": true, "PutObjectAcl": true,
	"ListObjects": true, "ListObjectsV2": true,
	"CreateMultipartUpload": true, "UploadPart": true, "UploadPartCopy": true,
	"CompleteMultipartUpload": true, "AbortMultipartUpload": true, "ListParts": true,
}

// IsDataEvent reports whether action, an S3 operation such as "PutObject", is
// object-level: a data event in CloudTrail's terms, not a management event.
func IsDataEvent(action string) bool { return dataEvents[action] }
