// Package deploy is the root of keyless's site deployment: syncing a local
// directory to S3 by content (deploy/s3sync), choosing which objects a sync
// touches (deploy/filter, with aws s3 sync's --exclude/--include semantics),
// the headers it sets (deploy/mimetype, deploy/filter's header rules),
// invalidating exactly what changed on CloudFront (deploy/invalidation),
// reporting progress (deploy/progress) and reading the Atlassian pipes'
// variables (deploy/pipe). The commands are in internal/cli (deploy.go,
// pipe.go).
package deploy
