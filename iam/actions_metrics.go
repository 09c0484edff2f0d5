package iam

// Serves reports whether action is one of the IAM actions keyless serves (a
// gateway.ActionSet: the request metrics label only these).
func (s *Service) Serves(action string) bool { return s.handler(action) != nil }
