package invalidation_test

import (
	"fmt"

	"github.com/keyless-dev/keyless/deploy/invalidation"
)

func ExampleNewPlan() {
	all := []string{
		"site/index.html", "site/about/index.html", "site/café.html",
		"site/assets/app.js", "site/assets/app.css", "site/assets/logo.svg",
		"site/img/1.png", "site/img/2.png", "site/img/3.png",
	}
	changed := []string{"site/index.html", "site/café.html", "site/assets/app.js", "site/assets/app.css", "site/assets/logo.svg", "site/img/1.png"}
	p, err := invalidation.NewPlan(changed, invalidation.Options{
		OriginPath:        "/site",
		DefaultRootObject: "index.html",
		All:               all,
	})
	if err != nil {
		panic(err)
	}
	for _, path := range p.Paths {
		fmt.Println(path)
	}
	for _, r := range p.Reasons {
		fmt.Println("-", r)
	}
	// Output:
	// /
	// /assets/*
	// /caf%C3%A9.html
	// /img/1.png
	// /index.html
	// - 5 paths cover 6 changed files (1 wildcard, 4 individual paths) under the origin path "site/"
	// - invalidating the directory paths of 1 default root object too (index.html is served for its directory): "site/index.html" also as /
	// - percent-encoded 1 key, as CloudFront requires for spaces, non-ASCII and unsafe characters: "site/café.html" as /caf%C3%A9.html
	// - collapsed 3 changed files under /assets/ into /assets/*: 1 path instead of 3, and it evicts no unchanged file (a directory is collapsed when at least 80% of its files changed)
}
