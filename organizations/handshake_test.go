package organizations

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	orgsdk "github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// TestSDKInvitations: with the official SDK client through the gateway, the
// management account invites an account by ID and another by email address;
// each invited account lists and describes its invitation, one accepts (it
// is then a member joined INVITED, with aws:PrincipalOrgID) and one declines;
// the management account lists them and cancels a third. Every refusal is
// the modeled exception: a member invited, a duplicate, a stranger's view,
// transitions from a closed state, the management account accepting, an
// expired invitation.
func TestSDKInvitations(t *testing.T) {
	const invited, emailed, third = "222222222222", "333333333333", "444444444444"
	f := newFixture(t, nil)
	ctx := t.Context()
	clients := sdkClients(t, f, mgmtAccount, outsiderAccount, invited, emailed, third)
	c := clients[mgmtAccount]
	org, err := c.CreateOrganization(ctx, &orgsdk.CreateOrganizationInput{FeatureSet: types.OrganizationFeatureSetAll})
	if err != nil {
		t.Fatal(err)
	}
	orgID := aws.ToString(org.Organization.Id)

	inv, err := c.InviteAccountToOrganization(ctx, &orgsdk.InviteAccountToOrganizationInput{
		Target: &types.HandshakeParty{Type: types.HandshakePartyTypeAccount, Id: aws.String(invited)}, Notes: aws.String("join us")})
	if err != nil {
		t.Fatal(err)
	}
	h := inv.Handshake
	if h.State != types.HandshakeStateOpen || h.Action != types.ActionTypeInviteAccountToOrganization ||
		aws.ToString(h.Arn) != "arn:aws:organizations::"+mgmtAccount+":handshake/"+orgID+"/invite/"+aws.ToString(h.Id) ||
		len(h.Parties) != 2 || aws.ToString(h.Parties[1].Id) != invited || h.Parties[1].Type != types.HandshakePartyTypeAccount ||
		h.ExpirationTimestamp.Sub(*h.RequestedTimestamp) != 15*24*time.Hour {
		t.Fatalf("InviteAccountToOrganization: %+v", h)
	}
	if len(h.Resources) != 3 || h.Resources[0].Type != types.HandshakeResourceTypeOrganization || aws.ToString(h.Resources[0].Value) != orgID ||
		len(h.Resources[0].Resources) != 3 || h.Resources[2].Type != types.HandshakeResourceTypeNotes || aws.ToString(h.Resources[2].Value) != "join us" {
		t.Fatalf("InviteAccountToOrganization resources: %+v", h.Resources)
	}
	_, err = c.InviteAccountToOrganization(ctx, &orgsdk.InviteAccountToOrganizationInput{
		Target: &types.HandshakeParty{Type: types.HandshakePartyTypeAccount, Id: aws.String(invited)}})
	wantSDKErr[*types.DuplicateHandshakeException](t, "a second open invitation of the account", err)
	_, err = c.InviteAccountToOrganization(ctx, &orgsdk.InviteAccountToOrganizationInput{
		Target: &types.HandshakeParty{Type: types.HandshakePartyTypeAccount, Id: aws.String(mgmtAccount)}})
	wantSDKErr[*types.HandshakeConstraintViolationException](t, "an invitation of the management account", err)
	_, err = clients[invited].InviteAccountToOrganization(ctx, &orgsdk.InviteAccountToOrganizationInput{
		Target: &types.HandshakeParty{Type: types.HandshakePartyTypeAccount, Id: aws.String(third)}})
	wantSDKErr[*types.AWSOrganizationsNotInUseException](t, "an invitation by an account of no organization", err)
	byEmail, err := c.InviteAccountToOrganization(ctx, &orgsdk.InviteAccountToOrganizationInput{
		Target: &types.HandshakeParty{Type: types.HandshakePartyTypeEmail, Id: aws.String(emailed + "@keyless.invalid")}})
	if err != nil {
		t.Fatal(err)
	}
	thirdInv, err := c.InviteAccountToOrganization(ctx, &orgsdk.InviteAccountToOrganizationInput{
		Target: &types.HandshakeParty{Type: types.HandshakePartyTypeAccount, Id: aws.String(third)}})
	if err != nil {
		t.Fatal(err)
	}

	// The invited account sees its invitation; a stranger does not.
	mine, err := clients[invited].ListHandshakesForAccount(ctx, &orgsdk.ListHandshakesForAccountInput{})
	if err != nil || len(mine.Handshakes) != 1 || aws.ToString(mine.Handshakes[0].Id) != aws.ToString(h.Id) {
		t.Fatalf("ListHandshakesForAccount of the invited account: %+v, %v", mine, err)
	}
	mine, err = clients[emailed].ListHandshakesForAccount(ctx, &orgsdk.ListHandshakesForAccountInput{})
	if err != nil || len(mine.Handshakes) != 1 || aws.ToString(mine.Handshakes[0].Id) != aws.ToString(byEmail.Handshake.Id) {
		t.Fatalf("ListHandshakesForAccount of the account invited by email: %+v, %v", mine, err)
	}
	mine, err = clients[invited].ListHandshakesForAccount(ctx, &orgsdk.ListHandshakesForAccountInput{Filter: &types.HandshakeFilter{ActionType: types.ActionTypeEnableAllFeatures}})
	if err != nil || len(mine.Handshakes) != 0 {
		t.Fatalf("ListHandshakesForAccount filtered to ENABLE_ALL_FEATURES: %+v, %v", mine, err)
	}
	_, err = clients[outsiderAccount].DescribeHandshake(ctx, &orgsdk.DescribeHandshakeInput{HandshakeId: h.Id})
	wantSDKErr[*types.HandshakeNotFoundException](t, "DescribeHandshake by a stranger", err)
	got, err := clients[invited].DescribeHandshake(ctx, &orgsdk.DescribeHandshakeInput{HandshakeId: h.Id})
	if err != nil || got.Handshake.State != types.HandshakeStateOpen {
		t.Fatalf("DescribeHandshake by the invited account: %+v, %v", got, err)
	}
	_, err = c.AcceptHandshake(ctx, &orgsdk.AcceptHandshakeInput{HandshakeId: h.Id})
	wantSDKErr[*types.AccessDeniedException](t, "AcceptHandshake by the management account", err)

	// Accept: a member, joined INVITED.
	acc, err := clients[invited].AcceptHandshake(ctx, &orgsdk.AcceptHandshakeInput{HandshakeId: h.Id})
	if err != nil || acc.Handshake.State != types.HandshakeStateAccepted {
		t.Fatalf("AcceptHandshake: %+v, %v", acc, err)
	}
	member, err := c.DescribeAccount(ctx, &orgsdk.DescribeAccountInput{AccountId: aws.String(invited)})
	if err != nil || member.Account.JoinedMethod != types.AccountJoinedMethodInvited || member.Account.Status != types.AccountStatusActive {
		t.Fatalf("DescribeAccount of the account that accepted: %+v, %v", member, err)
	}
	if id, ok, err := f.core.PrincipalOrgID(ctx, invited); err != nil || !ok || id != orgID {
		t.Errorf("PrincipalOrgID of the account that accepted = %q, %v, %v; want %s", id, ok, err, orgID)
	}
	_, err = clients[invited].AcceptHandshake(ctx, &orgsdk.AcceptHandshakeInput{HandshakeId: h.Id})
	wantSDKErr[*types.HandshakeAlreadyInStateException](t, "AcceptHandshake of an accepted invitation", err)
	_, err = clients[invited].DeclineHandshake(ctx, &orgsdk.DeclineHandshakeInput{HandshakeId: h.Id})
	wantSDKErr[*types.InvalidHandshakeTransitionException](t, "DeclineHandshake of an accepted invitation", err)
	_, err = c.InviteAccountToOrganization(ctx, &orgsdk.InviteAccountToOrganizationInput{
		Target: &types.HandshakeParty{Type: types.HandshakePartyTypeAccount, Id: aws.String(invited)}})
	wantSDKErr[*types.HandshakeConstraintViolationException](t, "an invitation of a member", err)

	// Decline, and cancel.
	dec, err := clients[emailed].DeclineHandshake(ctx, &orgsdk.DeclineHandshakeInput{HandshakeId: byEmail.Handshake.Id})
	if err != nil || dec.Handshake.State != types.HandshakeStateDeclined {
		t.Fatalf("DeclineHandshake: %+v, %v", dec, err)
	}
	_, err = clients[emailed].AcceptHandshake(ctx, &orgsdk.AcceptHandshakeInput{HandshakeId: byEmail.Handshake.Id})
	wantSDKErr[*types.InvalidHandshakeTransitionException](t, "AcceptHandshake of a declined invitation", err)
	_, err = clients[third].CancelHandshake(ctx, &orgsdk.CancelHandshakeInput{HandshakeId: thirdInv.Handshake.Id})
	wantSDKErr[*types.AccessDeniedException](t, "CancelHandshake by the invited account", err)
	can, err := c.CancelHandshake(ctx, &orgsdk.CancelHandshakeInput{HandshakeId: thirdInv.Handshake.Id})
	if err != nil || can.Handshake.State != types.HandshakeStateCanceled {
		t.Fatalf("CancelHandshake: %+v, %v", can, err)
	}

	// The organization's list, in pages of two.
	var states []types.HandshakeState
	p := orgsdk.NewListHandshakesForOrganizationPaginator(c, &orgsdk.ListHandshakesForOrganizationInput{MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range pg.Handshakes {
			states = append(states, h.State)
		}
	}
	if len(states) != 3 {
		t.Fatalf("ListHandshakesForOrganization: %v, want 3 handshakes", states)
	}
	_, err = clients[invited].ListHandshakesForOrganization(ctx, &orgsdk.ListHandshakesForOrganizationInput{})
	wantSDKErr[*types.AccessDeniedException](t, "ListHandshakesForOrganization by a member", err)

	// An invitation left open past 15 days expires.
	late, err := c.InviteAccountToOrganization(ctx, &orgsdk.InviteAccountToOrganizationInput{
		Target: &types.HandshakeParty{Type: types.HandshakePartyTypeAccount, Id: aws.String(third)}})
	if err != nil {
		t.Fatal(err)
	}
	f.advance(15*24*time.Hour + time.Second)
	got, err = clients[third].DescribeHandshake(ctx, &orgsdk.DescribeHandshakeInput{HandshakeId: late.Handshake.Id})
	if err != nil || got.Handshake.State != types.HandshakeStateExpired {
		t.Fatalf("DescribeHandshake of an invitation past its expiry: %+v, %v", got, err)
	}
	_, err = clients[third].AcceptHandshake(ctx, &orgsdk.AcceptHandshakeInput{HandshakeId: late.Handshake.Id})
	wantSDKErr[*types.InvalidHandshakeTransitionException](t, "AcceptHandshake of an expired invitation", err)
	if _, ok, _ := f.core.PrincipalOrgID(ctx, third); ok {
		t.Error("the account whose invitation expired is a member")
	}
}
