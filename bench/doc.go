// Package bench is keyless's load generator: it drives a running `keyless up`
// on this machine (loopback only) at a fixed rate (an open loop whose
// latencies count from each request's intended send time, so that a stalled
// server is not hidden by coordinated omission) or a fixed concurrency (a
// closed loop), bounded in time and count, and reports throughput,
// latency percentiles from a log-linear histogram, and errors by code. A
// Probe watches the server's RSS, goroutines and data directory during a
// soak. The scenarios are token exchange (AssumeRoleWithWebIdentity), token
// minting and small-object S3 PUT/GET.
package bench
