package organizations

import (
	"context"
	"fmt"
	"regexp"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/store"
)

// The wire side of invitations (handshake.go).

var patHandshakeID = regexp.MustCompile(`^h-[0-9a-z]{8,32}$`)

// maxNotes is the most characters of an invitation's notes.
const maxNotes = 1024

type handshakePartyJSON struct {
	ID   *string `json:"Id,omitempty"`
	Type *string `json:"Type,omitempty"`
}

type inviteAccountInput struct {
	Target *handshakePartyJSON `json:"Target,omitempty"`
	Notes  *string             `json:"Notes,omitempty"`
	Tags   []tagJSON           `json:"Tags,omitempty"`
}

type handshakeIDInput struct {
	HandshakeID *string `json:"HandshakeId,omitempty"`
}

type handshakeFilterJSON struct {
	ActionType        *string `json:"ActionType,omitempty"`
	ParentHandshakeID *string `json:"ParentHandshakeId,omitempty"`
}

type listHandshakesInput struct {
	Filter     *handshakeFilterJSON `json:"Filter,omitempty"`
	MaxResults *int64               `json:"MaxResults,omitempty"`
	NextToken  *string              `json:"NextToken,omitempty"`
}

type handshakePartyOut struct {
	ID   string `json:"Id"`
	Type string `json:"Type"`
}

type handshakeResourceOut struct {
	Type      string                 `json:"Type"`
	Value     string                 `json:"Value"`
	Resources []handshakeResourceOut `json:"Resources,omitempty"`
}

type handshakeOut struct {
	ID                  string                 `json:"Id"`
	ARN                 string                 `json:"Arn"`
	Parties             []handshakePartyOut    `json:"Parties"`
	State               string                 `json:"State"`
	RequestedTimestamp  awsapi.EpochTime       `json:"RequestedTimestamp,omitzero"`
	ExpirationTimestamp awsapi.EpochTime       `json:"ExpirationTimestamp,omitzero"`
	Action              string                 `json:"Action"`
	Resources           []handshakeResourceOut `json:"Resources"`
}

type handshakeOutput struct {
	Handshake handshakeOut `json:"Handshake"`
}

type listHandshakesOutput struct {
	Handshakes []handshakeOut `json:"Handshakes"`
	NextToken  string         `json:"NextToken,omitempty"`
}

// handshakeOf is h as AWS describes it: the organization and the target as
// parties, and as resources the organization (with its management account's
// address, name and feature set), the target and the notes.
func (s *Service) handshakeOf(h store.Handshake, org store.Organization) handshakeOut {
	mgmtName, _ := s.core.management(org.ManagementAccountID)
	resources := []handshakeResourceOut{
		{Type: partyOrganization, Value: org.ID, Resources: []handshakeResourceOut{
			{Type: "MASTER_EMAIL", Value: org.ManagementAccountEmail},
			{Type: "MASTER_NAME", Value: mgmtName},
			{Type: "ORGANIZATION_FEATURE_SET", Value: org.FeatureSet},
		}},
		{Type: h.TargetType, Value: h.TargetID},
	}
	if h.Notes != "" {
		resources = append(resources, handshakeResourceOut{Type: "NOTES", Value: h.Notes})
	}
	return handshakeOut{
		ID: h.ID, ARN: h.ARN, State: h.State, Action: h.Action,
		Parties:            []handshakePartyOut{{ID: org.ID, Type: partyOrganization}, {ID: h.TargetID, Type: h.TargetType}},
		RequestedTimestamp: awsapi.EpochTime(h.RequestedAt), ExpirationTimestamp: awsapi.EpochTime(h.ExpiresAt),
		Resources: resources,
	}
}

func handshakeKey(h handshakeOut) string { return h.ID }

func (s *Service) inviteAccountToOrganization(ctx context.Context, c *call) (any, error) {
	var in inviteAccountInput
	org, err := s.managed(ctx, c, &in, func(v *validator) {
		v.required("Target", in.Target != nil)
		if in.Target == nil {
			return
		}
		v.required("Target.Id", in.Target.ID != nil)
		v.required("Target.Type", in.Target.Type != nil)
		v.oneOf("Target.Type", in.Target.Type, partyAccount, partyEmail, partyOrganization)
		if in.Target.Type != nil && *in.Target.Type == partyOrganization {
			v.fail("INVALID_PARTY_TYPE_TARGET", "You specified the wrong type of entity (account, organization, or email) as a party: invite an ACCOUNT or an EMAIL.")
		}
		if in.Target.Type != nil && *in.Target.Type == partyAccount {
			v.pattern("Target.Id", in.Target.ID, patAccountID, "an account ID of exactly 12 digits")
		}
		if in.Target.Type != nil && *in.Target.Type == partyEmail {
			v.length("Target.Id", in.Target.ID, minEmail, maxEmail)
			v.pattern("Target.Id", in.Target.ID, patEmail, "an email address (name@domain.tld)")
		}
		v.length("Notes", in.Notes, 0, maxNotes)
		v.tags(in.Tags)
	}, func(org store.Organization) []string { return []string{org.ARN} })
	if err != nil {
		return nil, err
	}
	notes := ""
	if in.Notes != nil {
		notes = *in.Notes
	}
	h, err := s.core.invite(ctx, org, *in.Target.Type, *in.Target.ID, notes)
	if err != nil {
		return nil, err
	}
	c.resource = h.ARN
	return handshakeOutput{Handshake: s.handshakeOf(h, org)}, nil
}

// handshakeCall is the prologue of a call on one handshake: it decodes and
// validates the HandshakeId, finds the handshake for the caller (see
// Organizations.handshake) and authorizes the call on its ARN.
func (s *Service) handshakeCall(ctx context.Context, c *call) (store.Handshake, store.Organization, bool, error) {
	var in handshakeIDInput
	if err := decodeRequest(c.body, &in); err != nil {
		return store.Handshake{}, store.Organization{}, false, err
	}
	var v validator
	v.required("HandshakeId", in.HandshakeID != nil)
	v.pattern("HandshakeId", in.HandshakeID, patHandshakeID, "h- and 8 to 32 lowercase letters or digits")
	if err := v.check(); err != nil {
		return store.Handshake{}, store.Organization{}, false, err
	}
	h, org, manager, err := s.core.handshake(ctx, c.callerAccount(), *in.HandshakeID)
	if err != nil {
		return h, org, false, err
	}
	if err := s.authorize(ctx, c, h.ARN); err != nil {
		return h, org, false, err
	}
	return h, org, manager, nil
}

func (s *Service) describeHandshake(ctx context.Context, c *call) (any, error) {
	h, org, _, err := s.handshakeCall(ctx, c)
	if err != nil {
		return nil, err
	}
	return handshakeOutput{Handshake: s.handshakeOf(h, org)}, nil
}

// respond is AcceptHandshake and DeclineHandshake (by the invited account)
// and CancelHandshake (by the inviting management account).
func (s *Service) respond(ctx context.Context, c *call, state string, byManager bool) (any, error) {
	h, org, manager, err := s.handshakeCall(ctx, c)
	if err != nil {
		return nil, err
	}
	if manager != byManager {
		c.resource, c.denied = h.ARN, true
		return nil, errMemberAccess()
	}
	out, err := s.core.respond(ctx, org, c.callerAccount(), h.ID, state)
	if err != nil {
		return nil, err
	}
	return handshakeOutput{Handshake: s.handshakeOf(out, org)}, nil
}

func (s *Service) acceptHandshake(ctx context.Context, c *call) (any, error) {
	return s.respond(ctx, c, handshakeAccepted, false)
}

func (s *Service) declineHandshake(ctx context.Context, c *call) (any, error) {
	return s.respond(ctx, c, handshakeDeclined, false)
}

func (s *Service) cancelHandshake(ctx context.Context, c *call) (any, error) {
	return s.respond(ctx, c, handshakeCanceled, true)
}

// checkHandshakeFilter validates a List call's filter and paging.
func checkHandshakeFilter(v *validator, in *listHandshakesInput) {
	if f := in.Filter; f != nil {
		v.oneOf("Filter.ActionType", f.ActionType, actionInvite, "ENABLE_ALL_FEATURES", "APPROVE_ALL_FEATURES", "ADD_ORGANIZATIONS_SERVICE_LINKED_ROLE", "TRANSFER_RESPONSIBILITY")
		v.pattern("Filter.ParentHandshakeId", f.ParentHandshakeID, patHandshakeID, "h- and 8 to 32 lowercase letters or digits")
		if f.ActionType != nil && f.ParentHandshakeID != nil {
			v.fail("INVALID_INPUT", "Specify either Filter.ActionType or Filter.ParentHandshakeId, not both.")
		}
	}
	v.page(in.MaxResults, in.NextToken)
}

// listed returns the handshakes of hs that in's filter selects (keyless's are
// all INVITE, which have no parent) as AWS describes them, paged.
func (s *Service) listed(ctx context.Context, in listHandshakesInput, hs []store.Handshake) (any, error) {
	var out []handshakeOut
	if f := in.Filter; f == nil || f.ParentHandshakeID == nil && (f.ActionType == nil || *f.ActionType == actionInvite) {
		orgs := map[string]store.Organization{}
		for _, h := range hs {
			org, ok := orgs[h.OrganizationID]
			if !ok {
				var err error
				if org, err = s.core.st.GetOrganization(ctx, h.OrganizationID); err != nil {
					return nil, fmt.Errorf("organizations: %w", err)
				}
				orgs[h.OrganizationID] = org
			}
			out = append(out, s.handshakeOf(h, org))
		}
	}
	pageOut, next, err := page(out, handshakeKey, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return listHandshakesOutput{Handshakes: append([]handshakeOut{}, pageOut...), NextToken: next}, nil
}

func (s *Service) listHandshakesForAccount(ctx context.Context, c *call) (any, error) {
	var in listHandshakesInput
	if err := decodeRequest(c.body, &in); err != nil {
		return nil, err
	}
	var v validator
	checkHandshakeFilter(&v, &in)
	if err := v.check(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, "*"); err != nil {
		return nil, err
	}
	hs, err := s.core.handshakesFor(ctx, c.callerAccount())
	if err != nil {
		return nil, err
	}
	return s.listed(ctx, in, hs)
}

func (s *Service) listHandshakesForOrganization(ctx context.Context, c *call) (any, error) {
	var in listHandshakesInput
	org, err := s.managed(ctx, c, &in, func(v *validator) { checkHandshakeFilter(v, &in) },
		func(org store.Organization) []string { return []string{org.ARN} })
	if err != nil {
		return nil, err
	}
	hs, err := s.core.handshakesOf(ctx, org)
	if err != nil {
		return nil, err
	}
	return s.listed(ctx, in, hs)
}
