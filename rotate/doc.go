// Package rotate rotates the static IAM access keys of users that cannot use
// OpenID Connect yet, keeps the live key in an AWS Secrets Manager secret (the
// source of truth), and pushes every new key into CI variables through package
// rotate/target.
//
// # One pass
//
// [Engine.Run] is one idempotent pass over one user, safe to repeat every few
// minutes. It reads where the user stands, decides the next step, takes it, and
// decides again until nothing is left:
//
//  1. make room: delete an inactive key past its delete age (never a third key,
//     never a key the secret or a target holds);
//  2. create the new key (CreateAccessKey);
//  3. store it as AWSPENDING (PutSecretValue, the version id derived from the
//     key id, so a retry is a no-op);
//  4. verify it with sts:GetCallerIdentity, retrying with backoff while IAM
//     makes it usable;
//  5. promote it to AWSCURRENT (the old version becomes AWSPREVIOUS) and remove
//     AWSPENDING;
//  6. push it to every target, recording each result; if no target could be
//     updated the new key is rolled back, and a partial failure keeps both keys
//     active and is reported;
//  7. deactivate the old key once it is past its deactivate age, every target
//     holds the new key, and GetAccessKeyLastUsed shows no use since then (else
//     the report says when, where and through which service it was last used).
//     The watch period, the gap between the rotate and deactivate ages, bounds
//     both sides: the old key is kept at least that long after the rotation, so
//     that its consumers have time to show up, and a consumer that used it after
//     the rotation keeps it until it has been unused that long;
//  8. delete inactive keys past their delete age.
//
// # Where the state lives
//
// The state is IAM and the secret, not a database, so that `keyless rotate run`
// works from a scheduled pipeline against real AWS with no keyless store, and a
// daemon restarted on another machine resumes where the last one stopped. Every
// pass re-derives where the rotation is from
//
//   - the user's access keys (ListAccessKeys, GetAccessKeyLastUsed);
//   - the secret's staging labels: a version labelled AWSPENDING is a new key
//     not yet promoted; AWSCURRENT is the live key; AWSPREVIOUS the one before;
//   - what the targets hold (the access key ID variable is written in clear, so
//     a Bitbucket or GitLab target can be read back; GitHub secrets cannot);
//   - a few tags on the secret, for what neither IAM nor the labels can tell
//     (see the Tag constants): the intent to create a key (written before
//     CreateAccessKey, so that a key whose secret was lost in a crash is
//     recognised and deleted), the result of the last push to each target, the
//     time every target was first seen holding the current key (the rotation
//     time that "no use since" is measured from), when a key was found or made
//     inactive (the delete grace), and a rollback in progress.
//
// Each of those is written before the external call it guards, and every other
// step is idempotent, so a process killed between any two calls resumes
// correctly on the next pass: the invariants are that a user has at most two
// keys, the key AWSCURRENT holds works, every target ends up holding AWSCURRENT,
// and no key that a target or the secret holds is deactivated or deleted.
// [Engine.Hook] is called before and after every step (see [CrashPoints]) so
// that tests can kill the process exactly there.
//
// Passes over the same user must not overlap: the state has no compare-and-swap.
// The daemon (package rotate/daemon) takes a lease in the keyless store when it
// has one; a scheduled `rotate run` should come from one schedule.
package rotate
