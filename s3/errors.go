package s3

import (
	"errors"
	"net/http"

	"github.com/keyless-dev/keyless/awsapi"
)

// S3's error codes, statuses and messages, as S3 sends them.

func errNoSuchBucket(string) *awsapi.Error {
	return awsapi.NewError("NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist")
}

func errNoSuchKey() *awsapi.Error {
	return awsapi.NewError("NoSuchKey", http.StatusNotFound, "The specified key does not exist.")
}

func errBucketAlreadyOwnedByYou(string) *awsapi.Error {
	return awsapi.NewError("BucketAlreadyOwnedByYou", http.StatusConflict,
		"Your previous request to create the named bucket succeeded and you already own it.")
}

func errBucketAlreadyExists(string) *awsapi.Error {
	return awsapi.NewError("BucketAlreadyExists", http.StatusConflict,
		"The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")
}

func errBucketNotEmpty(string) *awsapi.Error {
	return awsapi.NewError("BucketNotEmpty", http.StatusConflict, "The bucket you tried to delete is not empty")
}

func errInvalidBucketName() *awsapi.Error {
	return awsapi.NewError("InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid.")
}

func errKeyTooLong() *awsapi.Error {
	return awsapi.NewError("KeyTooLongError", http.StatusBadRequest, "Your key is too long")
}

func errInvalidKey() *awsapi.Error {
	return awsapi.NewError("InvalidArgument", http.StatusBadRequest, "Object key must be valid UTF-8 without NUL characters.")
}

func errPreconditionFailed() *awsapi.Error {
	return awsapi.NewError("PreconditionFailed", http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold")
}

func errInvalidRange() *awsapi.Error {
	return awsapi.NewError("InvalidRange", http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable")
}

// errRequestCanceled records a request whose client closed the connection
// before the reply (499, the status proxies log for it; nobody receives it).
func errRequestCanceled() *awsapi.Error {
	return awsapi.NewError("RequestCanceled", 499, "The client closed the request before the reply")
}

func errACLNotSupported() *awsapi.Error {
	return awsapi.NewError("AccessControlListNotSupported", http.StatusBadRequest, "The bucket does not allow ACLs")
}

func errBucketACLWithOwnership() *awsapi.Error {
	return awsapi.NewError("InvalidBucketAclWithObjectOwnership", http.StatusBadRequest,
		"Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
}

func errInvalidArgument(msg string) *awsapi.Error {
	return awsapi.NewError("InvalidArgument", http.StatusBadRequest, msg)
}

func errInvalidRequest(msg string) *awsapi.Error {
	return awsapi.NewError("InvalidRequest", http.StatusBadRequest, msg)
}

func errMalformedXML() *awsapi.Error {
	return awsapi.NewError("MalformedXML", http.StatusBadRequest,
		"The XML you provided was not well-formed or did not validate against our published schema")
}

func errInvalidLocationConstraint() *awsapi.Error {
	return awsapi.NewError("InvalidLocationConstraint", http.StatusBadRequest, "The specified location-constraint is not valid")
}

func errIllegalLocationConstraint(constraint string) *awsapi.Error {
	if constraint == "" {
		constraint = "unspecified"
	}
	return awsapi.NewError("IllegalLocationConstraintException", http.StatusBadRequest,
		"The "+constraint+" location constraint is incompatible for the region specific endpoint this request was sent to.")
}

func errEntityTooLarge() *awsapi.Error {
	return awsapi.NewError("EntityTooLarge", http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed size")
}

func errMetadataTooLarge() *awsapi.Error {
	return awsapi.NewError("MetadataTooLarge", http.StatusBadRequest, "Your metadata headers exceed the maximum allowed metadata size.")
}

func errInvalidStorageClass() *awsapi.Error {
	return awsapi.NewError("InvalidStorageClass", http.StatusBadRequest, "The storage class you specified is not valid")
}

func errNotImplemented() *awsapi.Error {
	return awsapi.NewError("NotImplemented", http.StatusNotImplemented,
		"A header you provided implies functionality that is not implemented")
}

func errMethodNotAllowed() *awsapi.Error {
	return awsapi.NewError("MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource.")
}

func errCopyToItself() *awsapi.Error {
	return errInvalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
}

// accessDenied turns an Authorizer's error into the error to send: a denial
// becomes AccessDenied (403), anything else a failure to decide (500).
func accessDenied(err error) (deny *Denial, out error) {
	var d *Denial
	if errors.As(err, &d) && d != nil {
		msg := d.Message
		if msg == "" {
			msg = "Access Denied"
		}
		return d, awsapi.AccessDenied(msg)
	}
	if awsapi.HasCode(err, "AccessDenied") {
		return &Denial{Message: awsapi.AsError(err).Message}, awsapi.AsError(err)
	}
	return nil, err
}

// WriteError sends err as S3's Error document (code, message, request ID),
// with S3's request ID headers. It is for the errors a server raises before a
// request reaches the Service, such as a bad signature or an unknown access
// key, so that clients see them in S3's shape.
func WriteError(w http.ResponseWriter, requestID string, err error) {
	setIDs(w.Header(), requestID)
	awsapi.WriteRESTError(w, requestID, "", err)
}
