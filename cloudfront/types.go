package cloudfront

import "encoding/xml"

// Wire shapes of the CloudFront 2020-05-31 REST-XML API, as the SDKs send and
// parse them. Element order follows the API model; lists are CloudFront's
// {Quantity, Items} pairs, whose Items element is left out when empty.

// Paths is the list of paths of an invalidation batch.
type Paths struct {
	Quantity *int                  `xml:"Quantity"`
	Items    list[string, pathTag] `xml:"Items,omitempty"`
}

// InvalidationBatch is the body of CreateInvalidation and part of an
// Invalidation.
type InvalidationBatch struct {
	Paths           Paths  `xml:"Paths"`
	CallerReference string `xml:"CallerReference"`
}

// invalidationXML is the Invalidation element of CreateInvalidation and
// GetInvalidation.
type invalidationXML struct {
	XMLName           xml.Name `xml:"Invalidation"`
	ID                string   `xml:"Id"`
	Status            string   `xml:"Status"`
	CreateTime        string   `xml:"CreateTime"`
	InvalidationBatch InvalidationBatch
}

// invalidationSummaryXML is one entry of an InvalidationList.
type invalidationSummaryXML struct {
	ID         string `xml:"Id"`
	CreateTime string `xml:"CreateTime"`
	Status     string `xml:"Status"`
}

// listFields are the paging elements shared by InvalidationList and
// DistributionList.
type listFields struct {
	Marker      string `xml:"Marker"`
	NextMarker  string `xml:"NextMarker,omitempty"`
	MaxItems    int    `xml:"MaxItems"`
	IsTruncated bool   `xml:"IsTruncated"`
	Quantity    int    `xml:"Quantity"`
}

// invalidationListXML is the ListInvalidations result.
type invalidationListXML struct {
	XMLName xml.Name `xml:"InvalidationList"`
	listFields
	Items list[invalidationSummaryXML, invalidationSummaryTag] `xml:"Items,omitempty"`
}

// quantity is a list whose items keyless does not model; only an empty one is
// accepted.
type quantity struct {
	Quantity *int `xml:"Quantity"`
}

// Aliases are the distribution's alternate domain names.
type Aliases struct {
	Quantity *int                   `xml:"Quantity"`
	Items    list[string, cnameTag] `xml:"Items,omitempty"`
}

// S3OriginConfig marks an origin as an S3 bucket's REST endpoint.
type S3OriginConfig struct {
	OriginAccessIdentity string `xml:"OriginAccessIdentity"`
	OriginReadTimeout    *int   `xml:"OriginReadTimeout,omitempty"`
}

// SslProtocols are the TLS versions CloudFront may use towards a custom origin.
type SslProtocols struct {
	Quantity *int                         `xml:"Quantity"`
	Items    list[string, sslProtocolTag] `xml:"Items,omitempty"`
}

// CustomOriginConfig is an origin served over HTTP, such as an S3 website
// endpoint.
type CustomOriginConfig struct {
	HTTPPort               int           `xml:"HTTPPort"`
	HTTPSPort              int           `xml:"HTTPSPort"`
	OriginProtocolPolicy   string        `xml:"OriginProtocolPolicy"`
	OriginSslProtocols     *SslProtocols `xml:"OriginSslProtocols,omitempty"`
	OriginReadTimeout      *int          `xml:"OriginReadTimeout,omitempty"`
	OriginKeepaliveTimeout *int          `xml:"OriginKeepaliveTimeout,omitempty"`
}

// Origin is where CloudFront fetches content from.
type Origin struct {
	ID                    string              `xml:"Id"`
	DomainName            string              `xml:"DomainName"`
	OriginPath            string              `xml:"OriginPath"`
	CustomHeaders         *quantity           `xml:"CustomHeaders,omitempty"`
	S3OriginConfig        *S3OriginConfig     `xml:"S3OriginConfig,omitempty"`
	CustomOriginConfig    *CustomOriginConfig `xml:"CustomOriginConfig,omitempty"`
	ConnectionAttempts    *int                `xml:"ConnectionAttempts,omitempty"`
	ConnectionTimeout     *int                `xml:"ConnectionTimeout,omitempty"`
	OriginAccessControlID string              `xml:"OriginAccessControlId,omitempty"`
}

// Origins is the list of a distribution's origins.
type Origins struct {
	Quantity *int                    `xml:"Quantity"`
	Items    list[Origin, originTag] `xml:"Items,omitempty"`
}

// TrustedSigners restricts viewers to signed URLs (keyless accepts only the
// disabled, empty form).
type TrustedSigners struct {
	Enabled  bool                     `xml:"Enabled"`
	Quantity *int                     `xml:"Quantity"`
	Items    list[string, accountTag] `xml:"Items,omitempty"`
}

// Methods is a list of HTTP methods.
type Methods struct {
	Quantity *int                    `xml:"Quantity"`
	Items    list[string, methodTag] `xml:"Items,omitempty"`
}

// AllowedMethods are the methods CloudFront forwards, and those it caches.
type AllowedMethods struct {
	Quantity      *int                    `xml:"Quantity"`
	Items         list[string, methodTag] `xml:"Items,omitempty"`
	CachedMethods *Methods                `xml:"CachedMethods,omitempty"`
}

// Names is a list of header, cookie or query string names.
type Names struct {
	Quantity *int                  `xml:"Quantity"`
	Items    list[string, nameTag] `xml:"Items,omitempty"`
}

// CookiePreference is the legacy cookie forwarding setting.
type CookiePreference struct {
	Forward          string `xml:"Forward"`
	WhitelistedNames *Names `xml:"WhitelistedNames,omitempty"`
}

// ForwardedValues is the legacy (pre cache policy) cache key setting.
type ForwardedValues struct {
	QueryString          bool             `xml:"QueryString"`
	Cookies              CookiePreference `xml:"Cookies"`
	Headers              *Names           `xml:"Headers,omitempty"`
	QueryStringCacheKeys *Names           `xml:"QueryStringCacheKeys,omitempty"`
}

// DefaultCacheBehavior is how CloudFront serves every path.
type DefaultCacheBehavior struct {
	TargetOriginID          string           `xml:"TargetOriginId"`
	TrustedSigners          *TrustedSigners  `xml:"TrustedSigners,omitempty"`
	ViewerProtocolPolicy    string           `xml:"ViewerProtocolPolicy"`
	AllowedMethods          *AllowedMethods  `xml:"AllowedMethods,omitempty"`
	SmoothStreaming         *bool            `xml:"SmoothStreaming,omitempty"`
	Compress                *bool            `xml:"Compress,omitempty"`
	FieldLevelEncryptionID  string           `xml:"FieldLevelEncryptionId,omitempty"`
	CachePolicyID           string           `xml:"CachePolicyId,omitempty"`
	OriginRequestPolicyID   string           `xml:"OriginRequestPolicyId,omitempty"`
	ResponseHeadersPolicyID string           `xml:"ResponseHeadersPolicyId,omitempty"`
	ForwardedValues         *ForwardedValues `xml:"ForwardedValues,omitempty"`
	MinTTL                  *int64           `xml:"MinTTL,omitempty"`
	DefaultTTL              *int64           `xml:"DefaultTTL,omitempty"`
	MaxTTL                  *int64           `xml:"MaxTTL,omitempty"`
}

// CustomErrorResponse replaces an origin error by a page of the site (the usual
// single-page application setting: 403 and 404 answered by /index.html).
type CustomErrorResponse struct {
	ErrorCode          int    `xml:"ErrorCode"`
	ResponsePagePath   string `xml:"ResponsePagePath,omitempty"`
	ResponseCode       string `xml:"ResponseCode,omitempty"`
	ErrorCachingMinTTL *int64 `xml:"ErrorCachingMinTTL,omitempty"`
}

// CustomErrorResponses is the list of a distribution's custom error responses.
type CustomErrorResponses struct {
	Quantity *int                                              `xml:"Quantity"`
	Items    list[CustomErrorResponse, customErrorResponseTag] `xml:"Items,omitempty"`
}

// Logging is the access log setting (keyless writes no access logs).
type Logging struct {
	Enabled        bool   `xml:"Enabled"`
	IncludeCookies bool   `xml:"IncludeCookies"`
	Bucket         string `xml:"Bucket"`
	Prefix         string `xml:"Prefix"`
}

// ViewerCertificate is the distribution's TLS certificate setting.
type ViewerCertificate struct {
	CloudFrontDefaultCertificate *bool  `xml:"CloudFrontDefaultCertificate,omitempty"`
	IAMCertificateID             string `xml:"IAMCertificateId,omitempty"`
	ACMCertificateArn            string `xml:"ACMCertificateArn,omitempty"`
	SSLSupportMethod             string `xml:"SSLSupportMethod,omitempty"`
	MinimumProtocolVersion       string `xml:"MinimumProtocolVersion,omitempty"`
	Certificate                  string `xml:"Certificate,omitempty"`
	CertificateSource            string `xml:"CertificateSource,omitempty"`
}

// GeoRestriction limits the countries a distribution serves.
type GeoRestriction struct {
	RestrictionType string                    `xml:"RestrictionType"`
	Quantity        *int                      `xml:"Quantity"`
	Items           list[string, locationTag] `xml:"Items,omitempty"`
}

// Restrictions holds the geographic restriction.
type Restrictions struct {
	GeoRestriction GeoRestriction `xml:"GeoRestriction"`
}

// DistributionConfig is a distribution's configuration: the body of
// CreateDistribution, echoed in every Distribution. keyless models the
// elements a static site behind an S3 origin uses; CacheBehaviors and
// OriginGroups must be empty.
type DistributionConfig struct {
	CallerReference      string                `xml:"CallerReference"`
	Aliases              *Aliases              `xml:"Aliases,omitempty"`
	DefaultRootObject    string                `xml:"DefaultRootObject"`
	Origins              Origins               `xml:"Origins"`
	OriginGroups         *quantity             `xml:"OriginGroups,omitempty"`
	DefaultCacheBehavior DefaultCacheBehavior  `xml:"DefaultCacheBehavior"`
	CacheBehaviors       *quantity             `xml:"CacheBehaviors,omitempty"`
	CustomErrorResponses *CustomErrorResponses `xml:"CustomErrorResponses,omitempty"`
	Comment              *string               `xml:"Comment"`
	Logging              *Logging              `xml:"Logging,omitempty"`
	PriceClass           string                `xml:"PriceClass,omitempty"`
	Enabled              *bool                 `xml:"Enabled"`
	ViewerCertificate    *ViewerCertificate    `xml:"ViewerCertificate,omitempty"`
	Restrictions         *Restrictions         `xml:"Restrictions,omitempty"`
	WebACLID             *string               `xml:"WebACLId,omitempty"`
	HTTPVersion          string                `xml:"HttpVersion,omitempty"`
	IsIPV6Enabled        *bool                 `xml:"IsIPV6Enabled,omitempty"`
	Staging              *bool                 `xml:"Staging,omitempty"`
}

// activeSigners is ActiveTrustedSigners and ActiveTrustedKeyGroups, always
// disabled and empty in keyless.
type activeSigners struct {
	Enabled  bool `xml:"Enabled"`
	Quantity int  `xml:"Quantity"`
}

// distributionXML is the Distribution element of CreateDistribution and
// GetDistribution.
type distributionXML struct {
	XMLName                       xml.Name `xml:"Distribution"`
	ID                            string   `xml:"Id"`
	ARN                           string   `xml:"ARN"`
	Status                        string   `xml:"Status"`
	LastModifiedTime              string   `xml:"LastModifiedTime"`
	InProgressInvalidationBatches int      `xml:"InProgressInvalidationBatches"`
	DomainName                    string   `xml:"DomainName"`
	ActiveTrustedSigners          activeSigners
	ActiveTrustedKeyGroups        activeSigners
	DistributionConfig            *DistributionConfig
}

// distributionConfigXML is the GetDistributionConfig result.
type distributionConfigXML struct {
	XMLName xml.Name `xml:"DistributionConfig"`
	*DistributionConfig
}

// distributionSummaryXML is one entry of a DistributionList.
type distributionSummaryXML struct {
	ID                   string                `xml:"Id"`
	ARN                  string                `xml:"ARN"`
	ETag                 string                `xml:"ETag"`
	Status               string                `xml:"Status"`
	LastModifiedTime     string                `xml:"LastModifiedTime"`
	DomainName           string                `xml:"DomainName"`
	Aliases              *Aliases              `xml:"Aliases"`
	Origins              Origins               `xml:"Origins"`
	OriginGroups         *quantity             `xml:"OriginGroups,omitempty"`
	DefaultCacheBehavior DefaultCacheBehavior  `xml:"DefaultCacheBehavior"`
	CacheBehaviors       *quantity             `xml:"CacheBehaviors"`
	CustomErrorResponses *CustomErrorResponses `xml:"CustomErrorResponses"`
	Comment              *string               `xml:"Comment"`
	PriceClass           string                `xml:"PriceClass"`
	Enabled              *bool                 `xml:"Enabled"`
	ViewerCertificate    *ViewerCertificate    `xml:"ViewerCertificate"`
	Restrictions         *Restrictions         `xml:"Restrictions"`
	WebACLID             *string               `xml:"WebACLId"`
	HTTPVersion          string                `xml:"HttpVersion"`
	IsIPV6Enabled        *bool                 `xml:"IsIPV6Enabled"`
	Staging              *bool                 `xml:"Staging"`
}

// distributionListXML is the ListDistributions result.
type distributionListXML struct {
	XMLName xml.Name `xml:"DistributionList"`
	listFields
	Items list[distributionSummaryXML, distributionSummaryTag] `xml:"Items,omitempty"`
}

// list is the Items element of a {Quantity, Items} pair: one element named
// by N per item. It is written only when it has items (encoding/xml's
// "Items>Path,omitempty" would write an empty Items element, which
// CloudFront itself rejects in requests).
type list[T any, N itemName] []T

// itemName names the elements of a list.
type itemName interface{ itemName() string }

// MarshalXML writes the list's items, each as an element named by N.
func (l list[T, N]) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	var n N
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, it := range l {
		if err := e.EncodeElement(it, xml.StartElement{Name: xml.Name{Local: n.itemName()}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// UnmarshalXML reads the elements named by N, skipping any other.
func (l *list[T, N]) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var n N
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != n.itemName() {
				if err := d.Skip(); err != nil {
					return err
				}
				continue
			}
			var it T
			if err := d.DecodeElement(&it, &t); err != nil {
				return err
			}
			*l = append(*l, it)
		case xml.EndElement:
			return nil
		}
	}
}

// Item element names.
type (
	pathTag                struct{}
	invalidationSummaryTag struct{}
	cnameTag               struct{}
	sslProtocolTag         struct{}
	originTag              struct{}
	accountTag             struct{}
	methodTag              struct{}
	nameTag                struct{}
	customErrorResponseTag struct{}
	locationTag            struct{}
	distributionSummaryTag struct{}
)

func (pathTag) itemName() string                { return "Path" }
func (invalidationSummaryTag) itemName() string { return "InvalidationSummary" }
func (cnameTag) itemName() string               { return "CNAME" }
func (sslProtocolTag) itemName() string         { return "SslProtocol" }
func (originTag) itemName() string              { return "Origin" }
func (accountTag) itemName() string             { return "AwsAccountNumber" }
func (methodTag) itemName() string              { return "Method" }
func (nameTag) itemName() string                { return "Name" }
func (customErrorResponseTag) itemName() string { return "CustomErrorResponse" }
func (locationTag) itemName() string            { return "Location" }
func (distributionSummaryTag) itemName() string { return "DistributionSummary" }
