package iam

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/policy"
)

// IAM error codes and their HTTP statuses.

func noSuchEntity(msg string) *awsapi.Error {
	return awsapi.NewError("NoSuchEntity", http.StatusNotFound, msg)
}

func entityAlreadyExists(msg string) *awsapi.Error {
	return awsapi.NewError("EntityAlreadyExists", http.StatusConflict, msg)
}

func limitExceeded(msg string) *awsapi.Error {
	return awsapi.NewError("LimitExceeded", http.StatusConflict, msg)
}

func deleteConflict(msg string) *awsapi.Error {
	return awsapi.NewError("DeleteConflict", http.StatusConflict, msg)
}

func invalidInput(msg string) *awsapi.Error {
	return awsapi.NewError("InvalidInput", http.StatusBadRequest, msg)
}

func malformedPolicy(msg string) *awsapi.Error {
	return awsapi.NewError("MalformedPolicyDocument", http.StatusBadRequest, msg)
}

func noSuchRole(name string) *awsapi.Error {
	return noSuchEntity("The role with name " + name + " cannot be found.")
}

func noSuchUser(name string) *awsapi.Error {
	return noSuchEntity("The user with name " + name + " cannot be found.")
}

func notAttachable(arn string) *awsapi.Error {
	return noSuchEntity("Policy " + arn + " does not exist or is not attachable.")
}

func noSuchProvider(arn string) *awsapi.Error {
	return noSuchEntity("OpenIDConnect Provider not found for arn " + arn)
}

func noSuchAccessKey(id string) *awsapi.Error {
	return noSuchEntity("The Access Key with id " + id + " cannot be found.")
}

// parsePolicy validates a document of the given kind with the policy engine; size
// limits are IAM's business (checked by the callers with their own messages).
func parsePolicy(doc string, kind policy.Kind) error {
	_, err := policy.Parse([]byte(doc), kind, policy.WithMaxSize(0))
	if err == nil {
		return nil
	}
	var pe *policy.Error
	if errors.As(err, &pe) {
		return malformedPolicy(pe.Message)
	}
	return malformedPolicy("Syntax errors in policy.")
}

// page returns one page of items (already in list order): the items from the one
// whose key the marker names (keys ascend with the list order; key gets the
// item's index too), at most max of them, and the marker of the next
// page when there is one. Markers are opaque to clients.
func page[T any](items []T, key func(int, T) string, marker string, max int) ([]T, pageFields, error) {
	start := 0
	if marker != "" {
		raw, err := base64.RawURLEncoding.DecodeString(marker)
		if err != nil {
			return nil, pageFields{}, invalidInput("Invalid Marker.")
		}
		k := string(raw)
		start = len(items)
		for i, it := range items {
			if key(i, it) >= k {
				start = i
				break
			}
		}
	}
	end := min(start+max, len(items))
	var pf pageFields
	if end < len(items) {
		pf = pageFields{IsTruncated: true, Marker: base64.RawURLEncoding.EncodeToString([]byte(key(end, items[end])))}
	}
	return items[start:end], pf, nil
}

// awsManagedReadOnly is the AccessDenied for changing an AWS managed policy, which
// no one in the account may do.
func awsManagedReadOnly(callerARN, action, arn string) *awsapi.Error {
	return awsapi.AccessDenied(fmt.Sprintf("User: %s is not authorized to perform: iam:%s on resource: policy %s", callerARN, action, arn))
}
