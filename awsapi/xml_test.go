package awsapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

type roleResult struct {
	Role struct {
		RoleName string
		Arn      string
		Tags     []tag `xml:"Tags>member"`
	}
}

type tag struct{ Key, Value string }

func TestWriteQueryResult(t *testing.T) {
	w := httptest.NewRecorder()
	var res roleResult
	res.Role.RoleName = "deploy<&>"
	res.Role.Arn = "arn:aws:iam::123456789012:role/deploy"
	res.Role.Tags = []tag{{"team", "infra"}}
	WriteQueryResult(w, NamespaceIAM, "GetRole", "rid-1", res)
	want := `<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role><RoleName>deploy&lt;&amp;&gt;</RoleName>` +
		`<Arn>arn:aws:iam::123456789012:role/deploy</Arn><Tags><member><Key>team</Key><Value>infra</Value></member></Tags></Role></GetRoleResult>` +
		`<ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata></GetRoleResponse>`
	if w.Code != 200 || w.Body.String() != want {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if w.Header().Get("Content-Type") != "text/xml" || w.Header().Get("x-amzn-RequestId") != "rid-1" {
		t.Fatalf("headers %v", w.Header())
	}

	for _, nilResult := range []any{nil, (*roleResult)(nil)} {
		w = httptest.NewRecorder()
		WriteQueryResult(w, NamespaceIAM, "DeleteRole", "rid-2", nilResult)
		want = `<DeleteRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>rid-2</RequestId></ResponseMetadata></DeleteRoleResponse>`
		if w.Body.String() != want {
			t.Fatalf("nil result: %s", w.Body)
		}
	}

	// An action that is not an operation name never becomes an element name.
	w = httptest.NewRecorder()
	WriteQueryResult(w, NamespaceIAM, "Get><x", "rid-4", nil)
	if w.Code != 500 || strings.Contains(w.Body.String(), "<x") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}

	// A result encoding/xml cannot marshal becomes InternalFailure.
	w = httptest.NewRecorder()
	WriteQueryResult(w, NamespaceIAM, "GetRole", "rid-3", struct{ C chan int }{make(chan int)})
	if w.Code != 500 || !strings.Contains(w.Body.String(), "<Code>InternalFailure</Code>") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestWriteQueryError(t *testing.T) {
	w := httptest.NewRecorder()
	WriteQueryError(w, NamespaceSTS, "rid", fmt.Errorf("sts: authorize: %w", AccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")))
	want := `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>` +
		`<Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error><RequestId>rid</RequestId></ErrorResponse>`
	if w.Code != 403 || w.Body.String() != want || w.Header().Get("Content-Type") != "text/xml" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}

	w = httptest.NewRecorder()
	WriteQueryError(w, NamespaceSTS, "rid", errors.New("pq: password authentication failed for user secret"))
	if w.Code != 500 || !strings.Contains(w.Body.String(), "<Type>Receiver</Type><Code>InternalFailure</Code>") || strings.Contains(w.Body.String(), "secret") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}

	w = httptest.NewRecorder()
	WriteQueryError(w, NamespaceSTS, "rid", &Error{Code: "Weird", Status: 0})
	if w.Code != 500 {
		t.Fatalf("status %d", w.Code)
	}
}

func TestWriteRESTError(t *testing.T) {
	w := httptest.NewRecorder()
	WriteRESTError(w, "rid", "/bucket/key", NewError("NoSuchKey", 404, "The specified key does not exist."))
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Resource>/bucket/key</Resource><RequestId>rid</RequestId></Error>`
	if w.Code != 404 || w.Body.String() != want || w.Header().Get("Content-Type") != "application/xml" || w.Header().Get("x-amz-request-id") != "rid" {
		t.Fatalf("%d %q %v", w.Code, w.Body, w.Header())
	}
	w = httptest.NewRecorder()
	WriteRESTError(w, "rid", "", io.EOF)
	if w.Code != 500 || !strings.Contains(w.Body.String(), "<Code>InternalError</Code>") || strings.Contains(w.Body.String(), "Resource") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestErrors(t *testing.T) {
	for _, e := range []*Error{InvalidClientTokenID(), SignatureDoesNotMatch(), IncompleteSignature("x"), RequestExpired("x"), ExpiredToken(),
		MissingAuthenticationToken(), InvalidAction("A", "V"), MissingAction(), AccessDenied("x"), ValidationError("x"), MissingParameter("P"),
		InvalidParameterValue("x"), MalformedQueryString("x"), RequestEntityTooLarge(1), InternalFailure(), ServiceUnavailable(), Throttling()} {
		if e.Code == "" || e.Message == "" || e.Status == 0 || e.Sender != (e.Status < 500) || !strings.HasPrefix(e.Error(), e.Code+": ") {
			t.Fatalf("%+v", e)
		}
	}
	if !errors.Is(fmt.Errorf("w: %w", ExpiredToken()), ExpiredToken()) || errors.Is(ExpiredToken(), InvalidClientTokenID()) {
		t.Fatal("Is")
	}
	if InvalidClientTokenID().Message != "The security token included in the request is invalid." || ExpiredToken().Status != 403 {
		t.Fatal("message")
	}
	if (&Error{Code: "C"}).Error() != "C" {
		t.Fatal("Error()")
	}
}

// TestOfficialClients points aws-sdk-go-v2's STS and IAM clients at a
// handler built from this package: the SDK signs, we verify, and the SDK
// must parse our results and errors.
func TestOfficialClients(t *testing.T) {
	v := &Verifier{Lookup: &testLookup{}}
	srv := server(t, v)
	cfg := func(secret string) aws.Config {
		return aws.Config{
			Region:           "us-east-1",
			RetryMaxAttempts: 1,
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: secret}, nil
			}),
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	stsc := sts.NewFromConfig(cfg(testSecret), func(o *sts.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	out, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Arn) != "arn:aws:sts::123456789012:user/alice" || aws.ToString(out.Account) != "123456789012" || aws.ToString(out.UserId) != testAKID {
		t.Fatalf("%+v", out)
	}

	iamc := iam.NewFromConfig(cfg(testSecret), func(o *iam.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	if _, err := iamc.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("r")}); err != nil {
		t.Fatalf("DeleteRole: %v", err)
	}

	bad := sts.NewFromConfig(cfg("wrong"), func(o *sts.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	_, err = bad.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "SignatureDoesNotMatch" {
		t.Fatalf("got %v", err)
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
		t.Fatalf("status: %v", err)
	}
}

// TestCanonicalIDHeader checks the precomputed header names against net/textproto.
func TestCanonicalIDHeader(t *testing.T) {
	for _, name := range []string{"x-amzn-RequestId", "x-amz-request-id", "X-Other-header"} {
		if got, want := canonicalIDHeader(name), textproto.CanonicalMIMEHeaderKey(name); got != want {
			t.Fatalf("canonicalIDHeader(%q) = %q, want %q", name, got, want)
		}
	}
}
