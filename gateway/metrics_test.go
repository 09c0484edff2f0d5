package gateway_test

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/gateway"
)

// observed is one request as a RequestObserver got it.
type observed struct{ service, action, code string }

// recorder is a RequestObserver that keeps what it is told.
type recorder struct {
	mu   sync.Mutex
	seen []observed
}

func (r *recorder) ObserveRequest(service, action, code string, took time.Duration) {
	if took < 0 {
		panic("negative duration")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, observed{service, action, code})
}

func (r *recorder) taken() []observed {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.seen
	r.seen = nil
	return out
}

// actionSet adds gateway.ActionSet to a fake service.
type actionSet struct {
	*fakeService
	actions []string
}

func (a actionSet) Serves(action string) bool { return slices.Contains(a.actions, action) }

func TestRequestObserver(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, func(c *gateway.Config) {
		c.Observer = rec
		c.Services["sts"] = actionSet{c.Services["sts"].(*fakeService), []string{"AssumeRoleWithWebIdentity", "GetCallerIdentity"}}
		c.Services["iam"] = actionSet{c.Services["iam"].(*fakeService), []string{"GetUser"}}
	})
	tests := []struct {
		name string
		req  func(t *testing.T) *http.Request
		err  error // the iam fake's answer
		want observed
	}{
		{"signed, known action", func(t *testing.T) *http.Request {
			body := form("Action", "GetUser", "Version", "2010-05-08")
			r := newRequest(t, e.srv.URL, body)
			sign(t, r, body, keyID, secret, "iam", "us-east-1")
			return r
		}, nil, observed{"iam", "GetUser", ""}},
		{"the service's error code", func(t *testing.T) *http.Request {
			body := form("Action", "GetUser", "Version", "2010-05-08")
			r := newRequest(t, e.srv.URL, body)
			sign(t, r, body, keyID, secret, "iam", "us-east-1")
			return r
		}, awsapi.NewError("NoSuchEntity", 404, "no such user"), observed{"iam", "GetUser", "NoSuchEntity"}},
		{"an action the service does not serve is other", func(t *testing.T) *http.Request {
			body := form("Action", "CallerChosenName123", "Version", "2010-05-08")
			r := newRequest(t, e.srv.URL, body)
			sign(t, r, body, keyID, secret, "iam", "us-east-1")
			return r
		}, nil, observed{"iam", "other", ""}},
		{"unsigned web identity exchange", func(t *testing.T) *http.Request {
			return newRequest(t, e.srv.URL, form("Action", "AssumeRoleWithWebIdentity", "Version", "2011-06-15"))
		}, nil, observed{"sts", "AssumeRoleWithWebIdentity", ""}},
		{"wrong signature", func(t *testing.T) *http.Request {
			body := form("Action", "GetUser", "Version", "2010-05-08")
			r := newRequest(t, e.srv.URL, body)
			sign(t, r, body, keyID, "wrong-secret-wrong-secret-wrong-secret-xx", "iam", "us-east-1")
			return r
		}, nil, observed{"iam", "GetUser", "SignatureDoesNotMatch"}},
		{"no signature", func(t *testing.T) *http.Request {
			return newRequest(t, e.srv.URL, form("Action", "GetUser", "Version", "2010-05-08"))
		}, nil, observed{"other", "other", "MissingAuthenticationToken"}},
		{"a service keyless does not serve", func(t *testing.T) *http.Request {
			body := form("Action", "DescribeInstances", "Version", "2016-11-15")
			r := newRequest(t, e.srv.URL, body)
			sign(t, r, body, keyID, secret, "ec2", "us-east-1")
			return r
		}, nil, observed{"other", "other", "UnrecognizedClientException"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.iam.err = tc.err
			resp, err := http.DefaultClient.Do(tc.req(t))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := rec.taken()
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("observed %v, want [%v]", got, tc.want)
			}
		})
	}
}
