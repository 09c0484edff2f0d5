package rotate

// Step names one kind of step of a pass. Each step makes at most one call that
// changes something outside the process.
type Step string

// The steps, in the order a rotation takes them. Bookkeeping steps write a tag
// on the secret; every other step is one IAM, Secrets Manager, STS or CI call.
const (
	// StepCreateSecret creates the user's secret, empty, when it does not exist
	// yet (a secret given by ARN is never created).
	StepCreateSecret Step = "create-secret"
	// StepMarkCreating records, in a tag, that a key is about to be created and
	// which keys exist before it.
	StepMarkCreating Step = "mark-creating"
	// StepCreateKey creates the new access key.
	StepCreateKey Step = "create-key"
	// StepStorePending stores the new key as the secret's AWSPENDING version.
	StepStorePending Step = "store-pending"
	// StepDeleteOrphan deletes a key a crashed pass created but never stored:
	// its secret access key is lost.
	StepDeleteOrphan Step = "delete-orphan"
	// StepClearCreating clears the creating mark once the new key is stored.
	StepClearCreating Step = "clear-creating"
	// StepDropPending removes AWSPENDING from a version whose key is gone or
	// inactive.
	StepDropPending Step = "drop-pending"
	// StepVerify signs sts:GetCallerIdentity with the pending key.
	StepVerify Step = "verify"
	// StepPromote moves AWSCURRENT to the pending version.
	StepPromote Step = "promote"
	// StepFinishPending removes AWSPENDING from the version now AWSCURRENT.
	StepFinishPending Step = "finish-pending"
	// StepPush writes the current key into one target.
	StepPush Step = "push"
	// StepRecordTarget records the result of a push in a tag.
	StepRecordTarget Step = "record-target"
	// StepMarkRollback records that the new key is being rolled back.
	StepMarkRollback Step = "mark-rollback"
	// StepRollback moves AWSCURRENT back to the previous version.
	StepRollback Step = "rollback"
	// StepDeleteRolledBack deletes the rolled-back key once every target holds
	// the current key again.
	StepDeleteRolledBack Step = "delete-rolled-back"
	// StepClearRollback clears the rollback mark.
	StepClearRollback Step = "clear-rollback"
	// StepRecordSynced records when every target was first seen holding the
	// current key: the rotation time.
	StepRecordSynced Step = "record-synced"
	// StepMarkInactive records when a key was made (or found) inactive.
	StepMarkInactive Step = "mark-inactive"
	// StepDeactivate makes an old key inactive.
	StepDeactivate Step = "deactivate"
	// StepDelete deletes an inactive key past its delete age.
	StepDelete Step = "delete"
)

// Steps returns every step, in the order a rotation with a rollback takes them.
func Steps() []Step {
	return []Step{
		StepCreateSecret, StepMarkCreating, StepCreateKey, StepStorePending,
		StepDeleteOrphan, StepClearCreating, StepDropPending, StepVerify,
		StepPromote, StepFinishPending, StepPush, StepRecordTarget,
		StepMarkRollback, StepRollback, StepDeleteRolledBack, StepClearRollback,
		StepRecordSynced, StepMarkInactive, StepDeactivate, StepDelete,
	}
}

// Crash point prefixes: the Hook is called with "before:STEP" right before a
// step's call and "after:STEP" right after it succeeded.
const (
	Before = "before:"
	After  = "after:"
)

// CrashPoints returns every point the Hook is called at: before and after each
// step.
func CrashPoints() []string {
	var out []string
	for _, s := range Steps() {
		out = append(out, Before+string(s), After+string(s))
	}
	return out
}

// bookkeeping reports whether s only writes a tag on the secret.
func (s Step) bookkeeping() bool {
	switch s {
	case StepMarkCreating, StepClearCreating, StepRecordTarget, StepMarkRollback, StepClearRollback, StepRecordSynced, StepMarkInactive:
		return true
	}
	return false
}
