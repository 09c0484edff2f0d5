package progress

import (
	"testing"
	"time"
)

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{999, "999 B"},
		{1000, "1.0 KB"},
		{12_345, "12.3 KB"},
		{999_949, "999.9 KB"},
		{999_950, "1.0 MB"},
		{3_100_000, "3.1 MB"},
		{110_000_000, "110.0 MB"},
		{1_500_000_000, "1.5 GB"},
		{2_000_000_000_000, "2.0 TB"},
		{-1500, "-1.5 KB"},
	}
	for _, tt := range tests {
		if got := formatBytes(tt.n); got != tt.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestFormatPair(t *testing.T) {
	tests := []struct {
		done, total int64
		want        string
	}{
		{3_100_000, 110_000_000, "3.1/110.0 MB"},
		{0, 110_000_000, "0.0/110.0 MB"},
		{512, 900, "512/900 B"},
		{900, 1200, "0.9/1.2 KB"},
		{1200, 900, "1.2/0.9 KB"},
	}
	for _, tt := range tests {
		if got := formatPair(tt.done, tt.total); got != tt.want {
			t.Errorf("formatPair(%d, %d) = %q, want %q", tt.done, tt.total, got, tt.want)
		}
	}
}

func TestFormatCount(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1,000"}, {1998, "1,998"}, {123456, "123,456"},
		{1234567, "1,234,567"}, {-1234, "-1,234"},
	}
	for _, tt := range tests {
		if got := formatCount(tt.n); got != tt.want {
			t.Errorf("formatCount(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestFormatDurations(t *testing.T) {
	tests := []struct {
		d            time.Duration
		eta, elapsed string
	}{
		{0, "0s", "0.00s"},
		{300 * time.Millisecond, "1s", "0.30s"},
		{7 * time.Second, "7s", "7.00s"},
		{12340 * time.Millisecond, "13s", "12.3s"},
		{65 * time.Second, "1m05s", "1m05s"},
		{3599 * time.Second, "59m59s", "59m59s"},
		{2*time.Hour + 3*time.Minute + 4*time.Second, "2h03m", "2h03m"},
	}
	for _, tt := range tests {
		if got := formatETA(tt.d); got != tt.eta {
			t.Errorf("formatETA(%v) = %q, want %q", tt.d, got, tt.eta)
		}
		if got := formatElapsed(tt.d); got != tt.elapsed {
			t.Errorf("formatElapsed(%v) = %q, want %q", tt.d, got, tt.elapsed)
		}
	}
}

func TestFormatFileRate(t *testing.T) {
	tests := []struct {
		r    float64
		want string
	}{
		{0, "0.0 files/s"}, {0.4, "0.4 files/s"}, {35, "35 files/s"}, {1234.4, "1234 files/s"},
	}
	for _, tt := range tests {
		if got := formatFileRate(tt.r); got != tt.want {
			t.Errorf("formatFileRate(%v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}
