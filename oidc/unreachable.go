package oidc

// MessageIDPCommunication is the message of CodeIDPCommunicationError, returned when
// the identity provider's discovery document or JWKS host cannot be reached (refused
// connection, reset, no answer within the fetch timeout) and no cached key verifies
// the token. Our choice of text, after the AWS documentation of
// IDPCommunicationError; the SDKs retry this code, unlike InvalidIdentityToken.
const MessageIDPCommunication = "The identity provider could not be reached to verify the web identity token. This is often transient: retry the request a limited number of times."

// idpUnreachable is the rejection of a token whose keys could not be fetched because
// the identity provider did not answer. Its Reason is ReasonKeyRetrieval, so it is
// retryable and cached like every key retrieval failure.
func idpUnreachable(detail string, cause error) *Error {
	return &Error{Code: CodeIDPCommunicationError, Message: MessageIDPCommunication, Reason: ReasonKeyRetrieval, Detail: detail, cause: cause}
}
