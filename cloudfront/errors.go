package cloudfront

import (
	"errors"
	"net/http"

	"github.com/keyless-dev/keyless/awsapi"
)

// CloudFront error codes and their HTTP statuses, as modelled in the
// 2020-05-31 API. Messages follow the API reference's descriptions where AWS's
// exact wording is not published.

func errNoSuchDistribution() *awsapi.Error {
	return awsapi.NewError("NoSuchDistribution", http.StatusNotFound, "The specified distribution does not exist.")
}

func errNoSuchInvalidation() *awsapi.Error {
	return awsapi.NewError("NoSuchInvalidation", http.StatusNotFound, "The specified invalidation does not exist.")
}

func errNoSuchOrigin() *awsapi.Error {
	return awsapi.NewError("NoSuchOrigin", http.StatusNotFound, "One or more of your origins or origin groups do not exist.")
}

func errInvalidArgument(msg string) *awsapi.Error {
	return awsapi.NewError("InvalidArgument", http.StatusBadRequest, msg)
}

func errInconsistentQuantities() *awsapi.Error {
	return awsapi.NewError("InconsistentQuantities", http.StatusBadRequest, "The value of Quantity and the size of Items don't match.")
}

func errMissingBody() *awsapi.Error {
	return awsapi.NewError("MissingBody", http.StatusBadRequest, "This operation requires a body. Ensure that the body is present and the Content-Type header is set.")
}

func errMalformedInput(msg string) *awsapi.Error {
	return awsapi.NewError("MalformedInput", http.StatusBadRequest, msg)
}

func errBatchTooLarge() *awsapi.Error {
	return awsapi.NewError("BatchTooLarge", http.StatusRequestEntityTooLarge, "Invalidation batch specified is too large.")
}

func errTooManyInvalidations() *awsapi.Error {
	return awsapi.NewError("TooManyInvalidationsInProgress", http.StatusBadRequest,
		"You have exceeded the maximum number of allowable InProgress invalidation batch requests, or invalidation objects.")
}

// errBatchAlreadyExists is not in the SDK's model (clients see a generic API
// error); its status is taken to be 409 like CloudFront's other
// "AlreadyExists" errors.
func errBatchAlreadyExists() *awsapi.Error {
	return awsapi.NewError("InvalidationBatchAlreadyExists", http.StatusConflict,
		"The CallerReference was already used for an invalidation batch with different paths.")
}

func errDistributionAlreadyExists(id string) *awsapi.Error {
	return awsapi.NewError("DistributionAlreadyExists", http.StatusConflict,
		"The caller reference that you are using to create a distribution is associated with another distribution. Already exists: "+id)
}

func errCNAMEAlreadyExists() *awsapi.Error {
	return awsapi.NewError("CNAMEAlreadyExists", http.StatusConflict, "One or more of the CNAMEs you provided are already associated with a different resource.")
}

func errInvalidOrigin() *awsapi.Error {
	return awsapi.NewError("InvalidOrigin", http.StatusBadRequest,
		"The specified origin server does not exist or is not valid. keyless serves only Amazon S3 bucket origins.")
}

func errInvalidDefaultRootObject() *awsapi.Error {
	return awsapi.NewError("InvalidDefaultRootObject", http.StatusBadRequest, "The default root object you specified is invalid.")
}

func errInvalidTTLOrder() *awsapi.Error {
	return awsapi.NewError("InvalidTTLOrder", http.StatusBadRequest, "The TTL order specified is not valid.")
}

func errInvalidErrorCode() *awsapi.Error {
	return awsapi.NewError("InvalidErrorCode", http.StatusBadRequest, "An invalid error code was specified.")
}

func errInvalidResponseCode() *awsapi.Error {
	return awsapi.NewError("InvalidResponseCode", http.StatusBadRequest, "A response code is not valid.")
}

func errUnknownOperation(method, path string) *awsapi.Error {
	return awsapi.NewError("UnknownOperationException", http.StatusNotFound,
		"keyless does not serve the CloudFront operation "+method+" "+path)
}

// Denial is an authorization refusal with what decided it, for the audit
// event. An Authorizer returns it (or an *awsapi.Error with code AccessDenied)
// to deny a call; Message is sent to the client as the AccessDenied message.
type Denial struct {
	// Message is the AccessDenied text, worded as AWS words it ("User: … is not
	// authorized to perform: cloudfront:… on resource: …").
	Message string
	// Statement and Condition name the deciding policy statement and failed
	// condition, if any; Reason is a short explanation. They are audited only.
	Statement string
	Condition string
	Reason    string
}

// Error returns the message.
func (d *Denial) Error() string { return "AccessDenied: " + d.Message }

// accessDenied turns an Authorizer's error into the error to send: a denial
// becomes AccessDenied (403), anything else a failure to decide (500).
func accessDenied(err error) (deny *Denial, out error) {
	var d *Denial
	if errors.As(err, &d) && d != nil {
		return d, awsapi.AccessDenied(d.Message)
	}
	if awsapi.HasCode(err, "AccessDenied") {
		return &Denial{Message: awsapi.AsError(err).Message}, awsapi.AsError(err)
	}
	return nil, err
}
