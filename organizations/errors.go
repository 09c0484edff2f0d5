package organizations

import (
	"net/http"
	"strings"

	"github.com/keyless-dev/keyless/awsapi"
)

// The errors of AWS Organizations, as it sends them in the JSON 1.1
// protocol: every client error with HTTP status 400, the message worded as
// AWS words it where its wording is known (the API reference's).

func newError(code, message string) *awsapi.Error {
	return awsapi.NewError(code, http.StatusBadRequest, message)
}

func errNotInUse() *awsapi.Error {
	return newError("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
}

// errMemberAccess is AWS's answer to a member account calling an operation
// only the management account may call.
func errMemberAccess() *awsapi.Error {
	return newError("AccessDeniedException", "You don't have permissions to access this resource.")
}

func errAlreadyInOrganization() *awsapi.Error {
	return newError("AlreadyInOrganizationException", "The AWS account is already a member of an organization.")
}

func errParentNotFound() *awsapi.Error {
	return newError("ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.")
}

func errOUNotFound() *awsapi.Error {
	return newError("OrganizationalUnitNotFoundException", "We can't find an OU with the OrganizationalUnitId that you specified.")
}

func errAccountNotFound() *awsapi.Error {
	return newError("AccountNotFoundException", "We can't find an AWS account with the AccountId that you specified, "+
		"or the account whose credentials you used to make this request isn't a member of an organization.")
}

func errChildNotFound() *awsapi.Error {
	return newError("ChildNotFoundException", "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.")
}

func errDuplicateOU() *awsapi.Error {
	return newError("DuplicateOrganizationalUnitException", "An OU with the same name already exists.")
}

func errDuplicateAccount() *awsapi.Error {
	return newError("DuplicateAccountException", "That account is already present in the specified destination.")
}

func errSourceParentNotFound() *awsapi.Error {
	return newError("SourceParentNotFoundException", "We can't find a source root or OU with the ParentId that you specified.")
}

func errDestinationParentNotFound() *awsapi.Error {
	return newError("DestinationParentNotFoundException", "We can't find the destination container (a root or OU) with the ParentId that you specified.")
}

func errCreateAccountStatusNotFound() *awsapi.Error {
	return newError("CreateAccountStatusNotFoundException", "We can't find an create account request with the CreateAccountRequestId that you specified.")
}

func errConcurrentModification() *awsapi.Error {
	return newError("ConcurrentModificationException", "The target of the operation is currently being modified by a different request. Try again later.")
}

// errInvalidInput is InvalidInputException; reason is AWS's reason code
// (INVALID_PATTERN, INPUT_REQUIRED …), which keyless puts at the start of the
// message since its JSON errors carry no Reason member.
func errInvalidInput(reason, message string) *awsapi.Error {
	return newError("InvalidInputException", reason+": "+message)
}

func errUnknownOperation(op string) *awsapi.Error {
	return newError("UnknownOperationException", "keyless does not serve the Organizations operation "+op+
		"; it serves "+strings.Join(operationNames(), ", ")+".")
}

func errAccessDenied(message string) *awsapi.Error {
	return newError("AccessDeniedException", message)
}

func errHandshakeNotFound() *awsapi.Error {
	return newError("HandshakeNotFoundException", "We can't find a handshake with the HandshakeId that you specified.")
}

func errInvalidHandshakeTransition() *awsapi.Error {
	return newError("InvalidHandshakeTransitionException", "You can't perform the operation on the handshake in its current state.")
}

func errHandshakeAlreadyInState() *awsapi.Error {
	return newError("HandshakeAlreadyInStateException", "The specified handshake is already in the requested state.")
}

func errDuplicateHandshake() *awsapi.Error {
	return newError("DuplicateHandshakeException", "A handshake with the same action and target already exists.")
}

// errAlreadyMember refuses to invite, or to let accept, an account that is a
// member of an organization (the management account included).
func errAlreadyMember() *awsapi.Error {
	return errHandshakeConstraint("ALREADY_IN_AN_ORGANIZATION", "The account is already a member of an organization.")
}

// errHandshakeConstraint is HandshakeConstraintViolationException; reason is
// AWS's reason code, put at the start of the message as errInvalidInput does.
func errHandshakeConstraint(reason, message string) *awsapi.Error {
	return newError("HandshakeConstraintViolationException", reason+": "+message)
}
