package invalidation

import (
	"fmt"
	"testing"
)

// bigSite returns the keys of a site of 50,000 files in 2,500 directories
// (50 × 50, 20 files each), and 5,000 changed ones spread over them: 1 in 10,
// more than CloudFront's 3,000 paths.
func bigSite() (all, changed []string) {
	for a := range 50 {
		for b := range 50 {
			for f := range 20 {
				k := fmt.Sprintf("site/s%d/p%d/f%d.html", a, b, f)
				all = append(all, k)
				if (a+b+f)%10 == 0 {
					changed = append(changed, k)
				}
			}
		}
	}
	return all, changed
}

// BenchmarkNewPlan plans a big site's deploy that exceeds the path limit,
// with the site's keys known and unknown.
func BenchmarkNewPlan(b *testing.B) {
	all, changed := bigSite()
	for _, bc := range []struct {
		name string
		all  []string
	}{{"known", all}, {"unknown", nil}} {
		b.Run(bc.name, func(b *testing.B) {
			o := Options{OriginPath: "site", DefaultRootObject: "index.html", All: bc.all}
			for b.Loop() {
				p, err := NewPlan(changed, o)
				if err != nil || len(p.Paths)-p.Wildcards > DefaultMaxPaths {
					b.Fatalf("%d paths, %v", len(p.Paths), err)
				}
			}
		})
	}
}
