package secretsmanager

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/keyless-dev/keyless/awsapi"
)

// Secrets Manager's errors, as AWS sends them in the JSON 1.1 protocol: every
// client error with HTTP status 400, the message worded as Secrets Manager
// words it where its wording is known.

func newError(code, message string) *awsapi.Error {
	return awsapi.NewError(code, http.StatusBadRequest, message)
}

func errSecretNotFound() *awsapi.Error {
	return newError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
}

func errNoValueForStage(stage string) *awsapi.Error {
	return newError("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: "+stage)
}

func errNoValueForVersion(id string) *awsapi.Error {
	return newError("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: "+id)
}

func errMarkedForDeletion() *awsapi.Error {
	return newError("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
}

func errScheduledForDeletion() *awsapi.Error {
	return newError("InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.")
}

func errSecretExists(name string) *awsapi.Error {
	return newError("ResourceExistsException", "The operation failed because the secret "+name+" already exists.")
}

func errResourceExists() *awsapi.Error {
	return newError("ResourceExistsException", "A resource with the ID you requested already exists.")
}

func errTokenInUse(token, arn string) *awsapi.Error {
	return newError("ResourceExistsException", fmt.Sprintf(
		"You can't use ClientRequestToken %s because that value is already in use for a version of secret %s.", token, arn))
}

func errBothValues() *awsapi.Error {
	return newError("InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret.")
}

func errNoValue() *awsapi.Error {
	return newError("InvalidRequestException", "You must provide either SecretString or SecretBinary.")
}

func errNoToken() *awsapi.Error {
	return newError("InvalidRequestException", "You must provide a ClientRequestToken value. We recommend a UUID-type value.")
}

func errStageNotOnVersion() *awsapi.Error {
	return newError("InvalidRequestException", "You provided a VersionStage that is not associated to the provided VersionId.")
}

func errRecoveryWindow() *awsapi.Error {
	return newError("InvalidParameterException", "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
}

func errForceWithWindow() *awsapi.Error {
	return newError("InvalidParameterException", "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
}

func errRemoveFromRequired(stage, holder string) *awsapi.Error {
	return newError("InvalidParameterException", fmt.Sprintf(
		"The parameter RemoveFromVersionId can't be empty. Staging label %s is currently attached to version %s, so you must explicitly reference that version in RemoveFromVersionId.",
		stage, holder))
}

func errRemoveFromMismatch(stage, version string) *awsapi.Error {
	return newError("InvalidParameterException", fmt.Sprintf(
		"The parameter RemoveFromVersionId is invalid: staging label %s is not attached to version %s.", stage, version))
}

func errNoStageMove() *awsapi.Error {
	return newError("InvalidParameterException",
		"You must specify MoveToVersionId, RemoveFromVersionId, or both: the version to attach the staging label to and the one to remove it from.")
}

func errCurrentNeedsVersion() *awsapi.Error {
	return newError("InvalidParameterException",
		"The staging label AWSCURRENT can't be removed without being moved: specify the version to move it to in MoveToVersionId.")
}

func errStageLimit(version string) *awsapi.Error {
	return newError("LimitExceededException", fmt.Sprintf(
		"A version of a secret can have at most %d staging labels; version %s would have more.", maxStagesPerVersion, version))
}

func errInvalidName() *awsapi.Error {
	return newError("InvalidParameterException",
		"Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
}

func errReplication() *awsapi.Error {
	return newError("InvalidParameterException",
		"keyless serves a single region and does not replicate secrets: leave out AddReplicaRegions.")
}

func errInvalidNextToken() *awsapi.Error {
	return newError("InvalidNextTokenException", "The NextToken value is invalid.")
}

func errInvalidFilterValues(key string) *awsapi.Error {
	return newError("InvalidParameterException", "Invalid filter values for key: "+key)
}

func errUnknownOperation(op string) *awsapi.Error {
	return newError("UnknownOperationException", "keyless does not serve the Secrets Manager operation "+op+
		"; it serves "+strings.Join(operationNames(), ", ")+".")
}

func errAccessDenied(message string) *awsapi.Error {
	return newError("AccessDeniedException", message)
}

// validationError is the ValidationException AWS sends for request members
// that break the constraints of the service's model, each violation as
// "Value at 'member' failed to satisfy constraint: Member must …". Values are
// never repeated: they may be secret.
func validationError(violations []string) *awsapi.Error {
	n := "1 validation error detected: "
	if len(violations) > 1 {
		n = fmt.Sprintf("%d validation errors detected: ", len(violations))
	}
	return newError("ValidationException", n+strings.Join(violations, "; "))
}
