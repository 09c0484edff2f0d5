package sts

// Serves reports whether action is one of the STS actions keyless answers (a
// gateway.ActionSet: the request metrics label only these).
func (s *Service) Serves(action string) bool {
	switch action {
	case ActionAssumeRoleWithWebIdentity, ActionAssumeRoleWithSAML, ActionAssumeRole, ActionGetCallerIdentity:
		return true
	}
	return false
}
