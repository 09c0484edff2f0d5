package server

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// ClockOffsetEnv names a test hook: a duration (such as 2m or -90s) added to the
// server's clock, for everything it decides with time — token iat and exp, session
// credential expiry, SigV4 request times, key schedules. The failure drills run two
// replicas with different offsets to show that clock skew within the allowances
// (5 minutes for tokens, 15 for signatures) changes no decision. Leave it unset in
// production; a server started with it logs a warning.
const ClockOffsetEnv = "KEYLESS_CLOCK_OFFSET"

// maxClockOffset bounds ClockOffsetEnv, which is for skew drills, not time travel.
const maxClockOffset = 24 * time.Hour

// offsetClock returns now shifted by the duration in ClockOffsetEnv, or now itself
// when the variable is unset.
func offsetClock(now func() time.Time, getenv func(string) string, log *slog.Logger) (func() time.Time, error) {
	v := strings.TrimSpace(getenv(ClockOffsetEnv))
	if v == "" {
		return now, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d > maxClockOffset || d < -maxClockOffset {
		return nil, fmt.Errorf("%s=%q is not a duration such as 2m or -90s within ±%s", ClockOffsetEnv, v, maxClockOffset)
	}
	log.Warn("clock offset in effect: this server's clock is shifted (a test hook; unset it in production)", "env", ClockOffsetEnv, "offset", d.String())
	return func() time.Time { return now().Add(d) }, nil
}
