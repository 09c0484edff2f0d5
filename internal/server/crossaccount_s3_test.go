package server

import (
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// TestS3CrossAccount: a signed caller of account A reaches a bucket of account B
// as on AWS: only when B's bucket policy allows it (naming its ARN, its role's ARN
// for a role session, or account A) and, unless A's root user, A's identity
// policies allow the action too; an explicit Deny on either side wins; without a
// bucket policy it is AccessDenied naming the missing resource-based policy.
// Objects written across accounts are the bucket owner's, and denials are audited
// with the side that refused.
func TestS3CrossAccount(t *testing.T) {
	s := startTest(t, t.TempDir(), Config{Accounts: twoAccounts}, noEnv, nil)
	accts := s.Accounts()
	ctx := t.Context()
	a, b := accts[0], accts[1]
	pathStyle := func(o *s3.Options) { o.UsePathStyle = true }
	bS3 := s3.NewFromConfig(sdkConfig(s, b.Root), pathStyle)
	if _, err := bS3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-data")}); err != nil {
		t.Fatalf("CreateBucket b-data as B: %v", err)
	}
	if _, err := bS3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-data"), Key: aws.String("in-b.txt"), Body: strings.NewReader("from B")}); err != nil {
		t.Fatalf("PutObject as B: %v", err)
	}

	// In A: user alice (whose key signs) and role hub, which alice assumes.
	iamA := iam.NewFromConfig(sdkConfig(s, a.Root))
	if _, err := iamA.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	key, err := iamA.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	alice := RootCredentials{AccessKeyID: aws.ToString(key.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(key.AccessKey.SecretAccessKey)}
	aliceARN := "arn:aws:iam::" + a.ID + ":user/alice"
	hubARN := "arn:aws:iam::" + a.ID + ":role/hub"
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"sts:AssumeRole"}]}`
	if _, err := iamA.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("hub"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	allowB := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::b-data/*"}]}`
	if _, err := iamA.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("hub"), PolicyName: aws.String("s3"), PolicyDocument: aws.String(allowB)}); err != nil {
		t.Fatal(err)
	}
	got, err := sts.NewFromConfig(sdkConfig(s, alice)).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(hubARN), RoleSessionName: aws.String("s1")})
	if err != nil {
		t.Fatalf("AssumeRole hub as alice: %v", err)
	}
	cr := got.Credentials
	hubCfg := sdkConfig(s, a.Root)
	hubCfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken))
	hubS3 := s3.NewFromConfig(hubCfg, pathStyle)
	aliceS3 := s3.NewFromConfig(sdkConfig(s, alice), pathStyle)
	rootA := s3.NewFromConfig(sdkConfig(s, a.Root), pathStyle)
	sessionARN := "arn:aws:sts::" + a.ID + ":assumed-role/hub/s1"

	bucketPolicy := func(stmts ...string) string {
		return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
	}
	allowPrincipal := func(principal string) string {
		return `{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::b-data/*"}`
	}
	denyAlice := `{"Sid":"NoAlice","Effect":"Deny","Principal":{"AWS":"` + aliceARN + `"},"Action":"s3:*","Resource":"arn:aws:s3:::b-data/*"}`
	aliceAllow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b-data/*"}]}`
	aliceAllowAndDeny := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::b-data/*"}]}`
	notAuthorized := func(who, action, key string) string {
		return "User: " + who + " is not authorized to perform: " + action + " on resource: arn:aws:s3:::b-data/" + key
	}

	for _, tc := range []struct {
		name         string
		bucketPolicy string // B's; "" for none
		alicePolicy  string // alice's inline policy in A; "" for none
		client       *s3.Client
		put          bool   // PutObject, else GetObject of in-b.txt
		want         string // the AccessDenied message; "" when allowed
	}{
		{"bucket policy names the role, the role's policy allows", bucketPolicy(allowPrincipal(hubARN)), "", hubS3, true, ""},
		{"bucket policy names account A, alice's policy allows", bucketPolicy(allowPrincipal(a.ID)), aliceAllow, aliceS3, false, ""},
		{"bucket policy names account A, alice has no policy", bucketPolicy(allowPrincipal(a.ID)), "", aliceS3, false,
			notAuthorized(aliceARN, "s3:GetObject", "in-b.txt") + " because no identity-based policy allows the s3:GetObject action"},
		{"bucket policy names alice's ARN, alice has no policy", bucketPolicy(allowPrincipal(aliceARN)), "", aliceS3, false,
			notAuthorized(aliceARN, "s3:GetObject", "in-b.txt") + " because no identity-based policy allows the s3:GetObject action"},
		{"bucket policy denies alice", bucketPolicy(allowPrincipal(a.ID), denyAlice), aliceAllow, aliceS3, false,
			notAuthorized(aliceARN, "s3:GetObject", "in-b.txt") + " with an explicit deny in a resource-based policy"},
		{"alice's policy denies", bucketPolicy(allowPrincipal(a.ID)), aliceAllowAndDeny, aliceS3, false,
			notAuthorized(aliceARN, "s3:GetObject", "in-b.txt") + " with an explicit deny in an identity-based policy"},
		{"no bucket policy", "", aliceAllow, aliceS3, false,
			notAuthorized(aliceARN, "s3:GetObject", "in-b.txt") + " because no resource-based policy allows the s3:GetObject action"},
		{"no bucket policy, the role", "", "", hubS3, true,
			notAuthorized(sessionARN, "s3:PutObject", "from-a.txt") + " because no resource-based policy allows the s3:PutObject action"},
		{"bucket policy names another role", bucketPolicy(allowPrincipal("arn:aws:iam::" + a.ID + ":role/other")), "", hubS3, true,
			notAuthorized(sessionARN, "s3:PutObject", "from-a.txt") + " because no resource-based policy allows the s3:PutObject action"},
		{"root of A, bucket policy names account A", bucketPolicy(allowPrincipal(a.ID)), "", rootA, false, ""},
		{"root of A, no bucket policy", "", "", rootA, false,
			notAuthorized("arn:aws:iam::"+a.ID+":root", "s3:GetObject", "in-b.txt") + " because no resource-based policy allows the s3:GetObject action"},
		{"root of A, bucket policy names only alice", bucketPolicy(allowPrincipal(aliceARN)), "", rootA, false,
			notAuthorized("arn:aws:iam::"+a.ID+":root", "s3:GetObject", "in-b.txt") + " because no resource-based policy allows the s3:GetObject action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bucketPolicy == "" {
				if _, err := bS3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("b-data")}); err != nil {
					t.Fatal(err)
				}
			} else if _, err := bS3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("b-data"), Policy: aws.String(tc.bucketPolicy)}); err != nil {
				t.Fatalf("PutBucketPolicy as B: %v", err)
			}
			if tc.alicePolicy == "" {
				_, err := iamA.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("s3")})
				var ae smithy.APIError
				if err != nil && !(errors.As(err, &ae) && ae.ErrorCode() == "NoSuchEntity") {
					t.Fatal(err)
				}
			} else if _, err := iamA.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("s3"), PolicyDocument: aws.String(tc.alicePolicy)}); err != nil {
				t.Fatal(err)
			}
			var err error
			if tc.put {
				_, err = tc.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-data"), Key: aws.String("from-a.txt"), Body: strings.NewReader("from A")})
			} else {
				var out *s3.GetObjectOutput
				if out, err = tc.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b-data"), Key: aws.String("in-b.txt")}); err == nil {
					body, _ := io.ReadAll(out.Body)
					out.Body.Close()
					if string(body) != "from B" {
						t.Errorf("GetObject read %q, want B's object", body)
					}
				}
			}
			var ae smithy.APIError
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want it allowed", err)
			case tc.want != "" && (!errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || ae.ErrorMessage() != tc.want):
				t.Errorf("got %v\nwant AccessDenied: %s", err, tc.want)
			}
		})
	}

	// The object the role wrote in B's bucket is B's (BucketOwnerEnforced).
	acl, err := bS3.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String("b-data"), Key: aws.String("from-a.txt")})
	if err != nil {
		t.Fatalf("GetObjectAcl as B of the object A's role wrote: %v", err)
	}
	own, err := bS3.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String("b-data")})
	if err != nil {
		t.Fatal(err)
	}
	if acl.Owner == nil || own.Owner == nil || aws.ToString(acl.Owner.ID) != aws.ToString(own.Owner.ID) {
		t.Errorf("the object written across accounts is owned by %+v, want the bucket owner %+v", acl.Owner, own.Owner)
	}

	// A bucket's policy is its owner's: another account's root may not touch it,
	// even when the policy grants s3:*.
	all := bucketPolicy(`{"Effect":"Allow","Principal":{"AWS":"` + a.ID + `"},"Action":"s3:*","Resource":["arn:aws:s3:::b-data","arn:aws:s3:::b-data/*"]}`)
	if _, err := bS3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("b-data"), Policy: aws.String(all)}); err != nil {
		t.Fatal(err)
	}
	var ae smithy.APIError
	want := "User: arn:aws:iam::" + a.ID + ":root is not authorized to perform: s3:DeleteBucketPolicy on resource: arn:aws:s3:::b-data because only the bucket owner's account may read or change a bucket's policy"
	if _, err := rootA.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("b-data")}); !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || ae.ErrorMessage() != want {
		t.Errorf("DeleteBucketPolicy of B's bucket as A's root: %v, want AccessDenied: %s", err, want)
	}
	if got, err := bS3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("b-data")}); err != nil || aws.ToString(got.Policy) == "" {
		t.Errorf("B's bucket policy after A's refused delete: %v", err)
	}

	// Denials are audited with the side and account that refused.
	wants := []string{
		// alice without an identity policy: A's side refused.
		"the resource policy allows \"s3:GetObject\" on \"arn:aws:s3:::b-data/in-b.txt\" by \"" + aliceARN + "\", but the caller's identity policies in account " + a.ID + " do not allow",
		// A's root, the bucket policy naming only alice: B's side refused.
		"the caller's identity policies in account " + a.ID + " allow \"s3:GetObject\" on \"arn:aws:s3:::b-data/in-b.txt\" by \"arn:aws:iam::" + a.ID + ":root\", but the resource policy does not allow the caller",
		// No bucket policy.
		"but there is no resource policy; across accounts a resource policy must allow the caller too",
	}
	var reasons []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		events, err := s.st.ListAuditEvents(ctx, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		reasons = reasons[:0]
		for _, e := range events {
			var d struct {
				Reason string `json:"reason"`
			}
			if e.Decision == "Denied" && json.Unmarshal(e.Detail, &d) == nil {
				reasons = append(reasons, d.Reason)
			}
		}
		if len(reasons) >= 9 { // the table's denials, and DeleteBucketPolicy's
			break
		}
	}
	for _, w := range wants {
		if !slices.ContainsFunc(reasons, func(r string) bool { return strings.Contains(r, w) }) {
			t.Errorf("no denial audited with reason %q; audited:\n%s", w, strings.Join(reasons, "\n"))
		}
	}
}
