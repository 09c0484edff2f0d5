package ipranges

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const fixture = "testdata/atlassian-ip-ranges-2024-06-01.json"

func TestSourceFileAndURL(t *testing.T) {
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(data) }))
	defer srv.Close()
	fromFile, err := Source{File: fixture}.BitbucketEgress(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fromURL, err := Source{URL: srv.URL, Client: srv.Client()}.BitbucketEgress(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fromFile, fromURL) || !slices.Contains(fromFile, "34.199.54.113/32") {
		t.Errorf("file gave %v, URL gave %v; want the same list with the seeds' 34.199.54.113/32", fromFile, fromURL)
	}
	_, err = Source{File: filepath.Join(t.TempDir(), "missing.json")}.Load(context.Background())
	if err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
	srv.Close()
	_, err = Source{URL: srv.URL}.Load(context.Background())
	if err == nil || !strings.Contains(err.Error(), "without internet access, pass a saved copy of the feed") {
		t.Errorf("unreachable feed: %v", err)
	}
}
