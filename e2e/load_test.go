package e2e

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkLoopbackExchange is the loopback load test of issue 4: it runs the real
// `keyless up` binary, provisions the seed federation, and drives
// AssumeRoleWithWebIdentity over loopback HTTP from loadConcurrency workers, reporting
// exchanges per second and p50/p99 latency. Run it with
//
//	go test ./e2e -run '^$' -bench LoopbackExchange -benchtime 20000x
func BenchmarkLoopbackExchange(b *testing.B) {
	const loadConcurrency = 16
	f := newFederation(b)
	raw, err := os.ReadFile(f.tokenFile(b, "--repository", "web", "--environment", "production"))
	if err != nil {
		b.Fatal(err)
	}
	form := url.Values{
		"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
		"RoleArn": {f.repoRole}, "RoleSessionName": {"load"}, "WebIdentityToken": {strings.TrimSpace(string(raw))},
	}.Encode()
	endpoint := f.p.env["KEYLESS_ENDPOINT"] + "/"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loadConcurrency, MaxConnsPerHost: loadConcurrency}}
	exchange := func() (time.Duration, error) {
		start := time.Now()
		resp, err := client.Post(endpoint, "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return 0, &httpStatusError{resp.StatusCode}
		}
		return time.Since(start), err
	}
	for range 200 { // warm the JWKS cache and connections
		if _, err := exchange(); err != nil {
			b.Fatal(err)
		}
	}
	latencies := make([]time.Duration, b.N)
	var next sync.Mutex
	i := 0
	var failed error
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range loadConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				n := i
				i++
				next.Unlock()
				if n >= b.N {
					return
				}
				d, err := exchange()
				if err != nil {
					next.Lock()
					failed = err
					next.Unlock()
					return
				}
				latencies[n] = d
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed != nil {
		b.Fatal(failed)
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "exchanges/s")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(loadConcurrency, "concurrency")
}

type httpStatusError struct{ code int }

func (e *httpStatusError) Error() string { return "exchange answered HTTP " + http.StatusText(e.code) }
