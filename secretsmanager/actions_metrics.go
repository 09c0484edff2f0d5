package secretsmanager

// Serves reports whether action is one of the Secrets Manager operations keyless
// serves (a gateway.ActionSet: the request metrics label only these).
func (s *Service) Serves(action string) bool { return operations[action] != nil }
