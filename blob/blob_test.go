package blob

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestFill(t *testing.T) {
	boom := errors.New("boom")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		r       io.Reader
		size    int
		n       int
		eof     bool
		wantErr error
	}{
		{"ends within the buffer", context.Background(), strings.NewReader("abc"), 8, 3, true, nil},
		{"fills the buffer", context.Background(), strings.NewReader("abcdefgh-more"), 8, 8, false, nil},
		{"one byte a read", context.Background(), iotest.OneByteReader(strings.NewReader("abcde")), 8, 5, true, nil},
		{"data with EOF", context.Background(), iotest.DataErrReader(strings.NewReader("abc")), 8, 3, true, nil},
		{"empty", context.Background(), strings.NewReader(""), 8, 0, true, nil},
		{"a failing reader", context.Background(), io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(boom)), 8, 2, false, boom},
		{"a cancelled context", cancelled, strings.NewReader("abc"), 8, 0, false, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := make([]byte, tc.size)
			n, eof, err := Fill(tc.ctx, tc.r, buf)
			if n != tc.n || eof != tc.eof || !errors.Is(err, tc.wantErr) {
				t.Fatalf("Fill = %d, %v, %v; want %d, %v, %v", n, eof, err, tc.n, tc.eof, tc.wantErr)
			}
		})
	}
}
