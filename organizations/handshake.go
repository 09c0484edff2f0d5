package organizations

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/store"
)

// Invitations.
//
// The management account invites an account to its organization
// (InviteAccountToOrganization: a handshake of action INVITE, OPEN for 15
// days), by account ID or by email address; the invited account accepts it
// (AcceptHandshake: it becomes a member under the root, joined INVITED) or
// declines it, and the management account may cancel it while it is open.
// An open handshake past its expiry reads EXPIRED. keyless knows no email
// address of an account that is a member of no organization but the one
// CoreConfig.ManagementAccount gives it (default ACCOUNT@keyless.invalid), so
// an invitation by email is for the account whose address that is.

// The values of handshakes.
const (
	actionInvite      = "INVITE"
	handshakeOpen     = "OPEN"
	handshakeAccepted = "ACCEPTED"
	handshakeDeclined = "DECLINED"
	handshakeCanceled = "CANCELED"
	handshakeExpired  = "EXPIRED"
	partyAccount      = "ACCOUNT"
	partyEmail        = "EMAIL"
	partyOrganization = "ORGANIZATION"
	// handshakeTTL is how long an invitation stays open, as on AWS.
	handshakeTTL = 15 * 24 * time.Hour
)

func handshakeARN(org store.Organization, id string) string {
	return arnBase(org.ManagementAccountID) + "handshake/" + org.ID + "/invite/" + id
}

// current is h as of now: an open handshake past its expiry is EXPIRED.
func (o *Organizations) current(h store.Handshake) store.Handshake {
	if h.State == handshakeOpen && !o.now().Before(h.ExpiresAt) {
		h.State = handshakeExpired
	}
	return h
}

// accountEmail is the email address keyless lists account id with.
func (o *Organizations) accountEmail(id string) string {
	_, email := o.management(id)
	return email
}

// isTarget reports whether account id is the one h invites.
func (o *Organizations) isTarget(h store.Handshake, id string) bool {
	if h.TargetType == partyEmail {
		return strings.EqualFold(h.TargetID, o.accountEmail(id))
	}
	return h.TargetID == id
}

// invite creates an invitation of the account targetID (targetType ACCOUNT)
// or of the email address targetID (EMAIL) to org, with notes.
func (o *Organizations) invite(ctx context.Context, org store.Organization, targetType, targetID, notes string) (store.Handshake, error) {
	member := false
	switch targetType {
	case partyAccount:
		_, found, err := o.member(ctx, targetID)
		if err != nil {
			return store.Handshake{}, err
		}
		member = found
	case partyEmail:
		_, err := o.st.GetOrgAccountByEmail(ctx, targetID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.Handshake{}, fmt.Errorf("organizations: %w", err)
		}
		member = err == nil
	}
	if member {
		return store.Handshake{}, errAlreadyMember()
	}
	open, err := o.st.ListHandshakes(ctx, org.ID, "")
	if err != nil {
		return store.Handshake{}, fmt.Errorf("organizations: %w", err)
	}
	for _, h := range open {
		if o.current(h).State == handshakeOpen && h.TargetType == targetType && strings.EqualFold(h.TargetID, targetID) {
			return store.Handshake{}, errDuplicateHandshake()
		}
	}
	for range maxCreateTries {
		suffix, err := o.randomID(idAlphabet, 32)
		if err != nil {
			return store.Handshake{}, err
		}
		now := o.now()
		h := store.Handshake{ID: "h-" + suffix, ARN: handshakeARN(org, "h-"+suffix), OrganizationID: org.ID, Action: actionInvite,
			State: handshakeOpen, TargetType: targetType, TargetID: targetID, Notes: notes, RequestedAt: now, ExpiresAt: now.Add(handshakeTTL)}
		err = o.st.CreateHandshake(ctx, h)
		if err == nil {
			return h, nil
		}
		if !errors.Is(err, store.ErrAlreadyExists) {
			return store.Handshake{}, fmt.Errorf("organizations: %w", err)
		}
	}
	return store.Handshake{}, errConcurrentModification()
}

// handshake returns the handshake id as of now, for caller: the invited
// account or the inviting organization's management account (manager).
// Anyone else gets HandshakeNotFoundException, as for an unknown ID.
func (o *Organizations) handshake(ctx context.Context, caller, id string) (h store.Handshake, org store.Organization, manager bool, err error) {
	h, err = o.st.GetHandshake(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return h, org, false, errHandshakeNotFound()
	}
	if err != nil {
		return h, org, false, fmt.Errorf("organizations: %w", err)
	}
	if org, err = o.st.GetOrganization(ctx, h.OrganizationID); err != nil {
		return h, org, false, fmt.Errorf("organizations: %w", err)
	}
	manager = org.ManagementAccountID == caller
	if !manager && !o.isTarget(h, caller) {
		return store.Handshake{}, store.Organization{}, false, errHandshakeNotFound()
	}
	return o.current(h), org, manager, nil
}

// respond moves the handshake id from OPEN to state (ACCEPTED, DECLINED or
// CANCELED) for account caller, which the handshake() check has admitted:
// accepting makes caller a member of the organization under its root.
// A handshake already in state is HandshakeAlreadyInStateException; one in
// another state, InvalidHandshakeTransitionException.
func (o *Organizations) respond(ctx context.Context, org store.Organization, caller, id, state string) (store.Handshake, error) {
	var out store.Handshake
	err := o.st.UpdateHandshake(ctx, id, func(h store.Handshake) (store.Handshake, *store.OrgAccount, error) {
		h = o.current(h)
		switch h.State {
		case state:
			return h, nil, errHandshakeAlreadyInState()
		case handshakeOpen:
		default:
			return h, nil, errInvalidHandshakeTransition()
		}
		h.State = state
		out = h
		if state != handshakeAccepted {
			return h, nil, nil
		}
		name, email := o.management(caller)
		return h, &store.OrgAccount{ID: caller, ARN: accountARN(org.ManagementAccountID, org.ID, caller), Name: name, Email: email,
			OrganizationID: org.ID, ParentID: org.Root.ID, Status: statusActive, JoinedMethod: joinedInvited, JoinedAt: o.now()}, nil
	})
	var refusal *awsapi.Error
	switch {
	case err == nil:
		return out, nil
	case errors.As(err, &refusal):
		return store.Handshake{}, refusal
	case errors.Is(err, store.ErrAlreadyExists):
		// The account joined an organization meanwhile (or its address is a member's).
		return store.Handshake{}, errAlreadyMember()
	case errors.Is(err, store.ErrNotFound):
		return store.Handshake{}, errHandshakeNotFound()
	}
	return store.Handshake{}, fmt.Errorf("organizations: %w", err)
}

// handshakesFor returns, by ID and as of now, the handshakes that invite
// account id: by its ID or by its email address, matched as isTarget matches
// them for AcceptHandshake (an address in any case). Handshakes are few: the
// store's list of all of them is filtered here.
func (o *Organizations) handshakesFor(ctx context.Context, id string) ([]store.Handshake, error) {
	all, err := o.st.ListHandshakes(ctx, "", "")
	if err != nil {
		return nil, fmt.Errorf("organizations: %w", err)
	}
	var out []store.Handshake
	for _, h := range all {
		if o.isTarget(h, id) {
			out = append(out, o.current(h))
		}
	}
	return out, nil
}

// handshakesOf returns, by ID and as of now, the handshakes of org.
func (o *Organizations) handshakesOf(ctx context.Context, org store.Organization) ([]store.Handshake, error) {
	hs, err := o.st.ListHandshakes(ctx, org.ID, "")
	if err != nil {
		return nil, fmt.Errorf("organizations: %w", err)
	}
	for i := range hs {
		hs[i] = o.current(hs[i])
	}
	return hs, nil
}
