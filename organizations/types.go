package organizations

import "github.com/keyless-dev/keyless/awsapi"

// The members of requests and replies, as the 2016-11-28 API names them.
// Optional request members are pointers (or nil slices), so that an absent
// member can be told from an empty one.

// tagJSON is a tag of a request.
type tagJSON struct {
	Key   *string `json:"Key,omitempty"`
	Value *string `json:"Value,omitempty"`
}

// pageInput is the paging members of a List request.
type pageInput struct {
	MaxResults *int64  `json:"MaxResults,omitempty"`
	NextToken  *string `json:"NextToken,omitempty"`
}

type createOrganizationInput struct {
	FeatureSet *string `json:"FeatureSet,omitempty"`
}

type createOrganizationalUnitInput struct {
	Name     *string   `json:"Name,omitempty"`
	ParentID *string   `json:"ParentId,omitempty"`
	Tags     []tagJSON `json:"Tags,omitempty"`
}

type describeOrganizationalUnitInput struct {
	OrganizationalUnitID *string `json:"OrganizationalUnitId,omitempty"`
}

type listForParentInput struct {
	ParentID   *string `json:"ParentId,omitempty"`
	MaxResults *int64  `json:"MaxResults,omitempty"`
	NextToken  *string `json:"NextToken,omitempty"`
}

type listParentsInput struct {
	ChildID    *string `json:"ChildId,omitempty"`
	MaxResults *int64  `json:"MaxResults,omitempty"`
	NextToken  *string `json:"NextToken,omitempty"`
}

type createAccountInput struct {
	AccountName            *string   `json:"AccountName,omitempty"`
	Email                  *string   `json:"Email,omitempty"`
	IamUserAccessToBilling *string   `json:"IamUserAccessToBilling,omitempty"`
	RoleName               *string   `json:"RoleName,omitempty"`
	Tags                   []tagJSON `json:"Tags,omitempty"`
}

type describeCreateAccountStatusInput struct {
	CreateAccountRequestID *string `json:"CreateAccountRequestId,omitempty"`
}

type describeAccountInput struct {
	AccountID *string `json:"AccountId,omitempty"`
}

type moveAccountInput struct {
	AccountID           *string `json:"AccountId,omitempty"`
	SourceParentID      *string `json:"SourceParentId,omitempty"`
	DestinationParentID *string `json:"DestinationParentId,omitempty"`
}

// policyTypeSummary is a policy type of an organization or root.
type policyTypeSummary struct {
	Type   string `json:"Type"`
	Status string `json:"Status"`
}

type organizationOut struct {
	ID                   string              `json:"Id"`
	ARN                  string              `json:"Arn"`
	FeatureSet           string              `json:"FeatureSet"`
	MasterAccountARN     string              `json:"MasterAccountArn"`
	MasterAccountID      string              `json:"MasterAccountId"`
	MasterAccountEmail   string              `json:"MasterAccountEmail"`
	AvailablePolicyTypes []policyTypeSummary `json:"AvailablePolicyTypes"`
}

type organizationOutput struct {
	Organization organizationOut `json:"Organization"`
}

type rootOut struct {
	ID          string              `json:"Id"`
	ARN         string              `json:"Arn"`
	Name        string              `json:"Name"`
	PolicyTypes []policyTypeSummary `json:"PolicyTypes"`
}

type listRootsOutput struct {
	Roots     []rootOut `json:"Roots"`
	NextToken string    `json:"NextToken,omitempty"`
}

type ouOut struct {
	ID   string `json:"Id"`
	ARN  string `json:"Arn"`
	Name string `json:"Name"`
}

type ouOutput struct {
	OrganizationalUnit ouOut `json:"OrganizationalUnit"`
}

type listOUsOutput struct {
	OrganizationalUnits []ouOut `json:"OrganizationalUnits"`
	NextToken           string  `json:"NextToken,omitempty"`
}

type parentOut struct {
	ID   string `json:"Id"`
	Type string `json:"Type"`
}

type listParentsOutput struct {
	Parents   []parentOut `json:"Parents"`
	NextToken string      `json:"NextToken,omitempty"`
}

type createAccountStatusOut struct {
	ID                 string           `json:"Id"`
	AccountName        string           `json:"AccountName"`
	State              string           `json:"State"`
	RequestedTimestamp awsapi.EpochTime `json:"RequestedTimestamp,omitzero"`
	CompletedTimestamp awsapi.EpochTime `json:"CompletedTimestamp,omitzero"`
	AccountID          string           `json:"AccountId,omitempty"`
	FailureReason      string           `json:"FailureReason,omitempty"`
}

type createAccountStatusOutput struct {
	CreateAccountStatus createAccountStatusOut `json:"CreateAccountStatus"`
}

type accountOut struct {
	ID              string           `json:"Id"`
	ARN             string           `json:"Arn"`
	Email           string           `json:"Email"`
	Name            string           `json:"Name"`
	Status          string           `json:"Status"`
	State           string           `json:"State"`
	JoinedMethod    string           `json:"JoinedMethod"`
	JoinedTimestamp awsapi.EpochTime `json:"JoinedTimestamp,omitzero"`
}

type accountOutput struct {
	Account accountOut `json:"Account"`
}

type listAccountsOutput struct {
	Accounts  []accountOut `json:"Accounts"`
	NextToken string       `json:"NextToken,omitempty"`
}
