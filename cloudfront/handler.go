package cloudfront

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/awsapi"
)

// call is the state of one request as it goes through a handler.
type call struct {
	ctx       context.Context
	r         *http.Request
	requestID string
	time      time.Time
	action    string

	// Set by authorize.
	resource string
	denial   *Denial
}

// reply is a successful result: its status, the Location and ETag headers
// when set, and the value to encode as the XML document (with root element
// root in the CloudFront namespace).
type reply struct {
	status   int
	location string
	etag     string
	root     string
	body     any
}

// operation serves one action; ids are the path's distribution and
// invalidation IDs.
type operation func(s *Service, c *call, ids []string) (*reply, error)

// route finds the action of a request and the IDs in its path. The empty
// action means an operation keyless does not serve.
func route(method, path string, query url.Values) (action string, op operation, ids []string) {
	rest, ok := strings.CutPrefix(path, PathPrefix)
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
		return "", nil, nil
	}
	var parts []string
	if rest != "" {
		parts = strings.Split(rest[1:], "/")
	}
	if slices.Contains(parts, "") {
		return "", nil, nil
	}
	switch {
	case len(parts) == 0 && method == http.MethodGet:
		return "ListDistributions", (*Service).handleListDistributions, nil
	case len(parts) == 0 && method == http.MethodPost && !query.Has("WithTags"):
		return "CreateDistribution", (*Service).handleCreateDistribution, nil
	case len(parts) == 1 && method == http.MethodGet:
		return "GetDistribution", (*Service).handleGetDistribution, parts
	case len(parts) == 2 && parts[1] == "config" && method == http.MethodGet:
		return "GetDistributionConfig", (*Service).handleGetDistributionConfig, parts[:1]
	case len(parts) == 2 && parts[1] == "invalidation" && method == http.MethodPost:
		return "CreateInvalidation", (*Service).handleCreateInvalidation, parts[:1]
	case len(parts) == 2 && parts[1] == "invalidation" && method == http.MethodGet:
		return "ListInvalidations", (*Service).handleListInvalidations, parts[:1]
	case len(parts) == 3 && parts[1] == "invalidation" && method == http.MethodGet:
		return "GetInvalidation", (*Service).handleGetInvalidation, []string{parts[0], parts[2]}
	}
	return "", nil, nil
}

// ServeHTTP serves one CloudFront API request under PathPrefix. The caller
// must already be authenticated; every call is authorized, audited, and
// answered as CloudFront answers, errors in CloudFront's ErrorResponse shape.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{ctx: r.Context(), r: r, requestID: s.ids.Next(), time: s.cfg.Now()}
	action, op, ids := route(r.Method, r.URL.Path, r.URL.Query())
	c.action = action
	var (
		res *reply
		err error
	)
	if op == nil {
		err = errUnknownOperation(r.Method, r.URL.Path)
	} else {
		res, err = op(s, c, ids)
	}
	s.record(c, err)
	if err == nil {
		err = s.write(w, c.requestID, res)
	}
	if err != nil {
		if awsapi.AsError(err).Code == "InternalFailure" && s.cfg.Logger != nil {
			s.cfg.Logger.Error("cloudfront: internal failure", "request_id", c.requestID, "action", c.action, "err", err)
		}
		awsapi.WriteQueryError(w, Namespace, c.requestID, err)
	}
}

// write encodes a reply: the XML declaration and the root element in the
// CloudFront namespace, with Content-Type text/xml and x-amzn-RequestId.
func (s *Service) write(w http.ResponseWriter, requestID string, res *reply) error {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	start := xml.StartElement{Name: xml.Name{Local: res.root}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: Namespace}}}
	if err := enc.EncodeElement(res.body, start); err != nil {
		return fmt.Errorf("cloudfront: encode %s: %w", res.root, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("cloudfront: encode %s: %w", res.root, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("x-amzn-RequestId", requestID)
	if res.location != "" {
		h.Set("Location", res.location)
	}
	if res.etag != "" {
		h.Set("ETag", res.etag)
	}
	w.WriteHeader(res.status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// authorize asks the Authorizer whether the caller may perform
// cloudfront:<action> on resource. A denial is AccessDenied; a failure to
// decide is an internal error.
func (s *Service) authorize(c *call, resource string) error {
	c.resource = resource
	action := "cloudfront:" + c.action
	err := s.cfg.Authorizer.Authorize(c.ctx, action, resource)
	if err == nil {
		return nil
	}
	d, out := accessDenied(err)
	if d != nil {
		c.denial = d
		return out
	}
	return fmt.Errorf("cloudfront: authorize %s: %w", action, err)
}

// record turns the outcome of a call into an audit event.
func (s *Service) record(c *call, err error) {
	if s.cfg.Audit == nil {
		return
	}
	e := audit.Event{
		Time:      c.time,
		RequestID: c.requestID,
		Service:   "cloudfront",
		Action:    c.action,
		Role:      c.resource,
		Decision:  audit.Allowed,
	}
	if s.cfg.Identify != nil {
		id := s.cfg.Identify(c.ctx)
		e.Caller, e.SourceIP = id.Caller, id.SourceIP
	}
	if d := c.denial; d != nil {
		e.Conclude(true, d.Statement, d.Condition, d.Reason, err)
	} else {
		e.Conclude(false, "", "", "", err)
	}
	s.cfg.Audit.Record(e)
}

// readBody reads a request body of at most maxBody bytes; a larger one is
// tooLarge, an empty one MissingBody.
func readBody(r *http.Request, tooLarge error) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, errMalformedInput("The request body could not be read.")
	}
	if len(body) > maxBody {
		return nil, tooLarge
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errMissingBody()
	}
	return body, nil
}

// decodeXML decodes a request document whose root element is root (in the
// CloudFront namespace, or in none) into v. Anything else, a DTD, or a
// document that is not well formed is MalformedInput.
func decodeXML(body []byte, root string, v any) error {
	dec := xml.NewDecoder(bytes.NewReader(body))
	seen := false
	for {
		tok, err := dec.Token()
		if err == io.EOF && seen {
			return nil
		}
		if err != nil {
			return errMalformedInput("The request body is not a well-formed XML document.")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if seen {
				return errMalformedInput("The request body has more than one root element.")
			}
			if t.Name.Local != root || (t.Name.Space != "" && t.Name.Space != Namespace) {
				return errMalformedInput("The root element must be " + root + " in namespace " + Namespace + ".")
			}
			if err := dec.DecodeElement(v, &t); err != nil {
				return errMalformedInput("The request body does not match the " + root + " schema.")
			}
			seen = true
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return errMalformedInput("The request body has text outside its root element.")
			}
		case xml.Directive:
			return errMalformedInput("Document type declarations are not accepted.")
		}
	}
}

// decodeInvalidationBatch decodes and validates a CreateInvalidation body.
func decodeInvalidationBatch(body []byte) (batch, error) {
	var b InvalidationBatch
	if err := decodeXML(body, "InvalidationBatch", &b); err != nil {
		return batch{}, err
	}
	return checkBatch(&b)
}

// maxItems reads the MaxItems parameter: 1 to 100 (more is taken as 100),
// 100 when absent.
func maxItems(q url.Values) (int, error) {
	v := q.Get("MaxItems")
	if v == "" {
		return maxListItems, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, errInvalidArgument("The parameter MaxItems must be a positive integer.")
	}
	return min(n, maxListItems), nil
}

// formatTime formats a time as CloudFront does (ISO 8601, milliseconds, UTC).
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Invalidations.

func (s *Service) invalidationLocation(distID, id string) string {
	return "https://cloudfront.amazonaws.com/" + APIVersion + "/distribution/" + distID + "/invalidation/" + id
}

func invalidationResult(iv *invalidation, status string) *invalidationXML {
	return &invalidationXML{
		ID:         iv.id,
		Status:     status,
		CreateTime: formatTime(iv.created),
		InvalidationBatch: InvalidationBatch{
			Paths:           Paths{Quantity: ptr(len(iv.paths)), Items: iv.paths},
			CallerReference: iv.ref,
		},
	}
}

// exists reports whether a distribution exists (NoSuchDistribution if not).
func (s *Service) exists(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.lookup(id)
	return err
}

func (s *Service) handleCreateInvalidation(c *call, ids []string) (*reply, error) {
	distID := ids[0]
	if err := s.authorize(c, s.ARN(distID)); err != nil {
		return nil, err
	}
	if err := s.exists(distID); err != nil {
		return nil, err
	}
	body, err := readBody(c.r, errBatchTooLarge())
	if err != nil {
		return nil, err
	}
	b, err := decodeInvalidationBatch(body)
	if err != nil {
		return nil, err
	}
	iv, created, err := s.createInvalidation(distID, b)
	if err != nil {
		return nil, err
	}
	status := statusInProgress
	if created {
		if s.cfg.Listener != nil {
			s.cfg.Listener.Invalidated(distID, slices.Clone(iv.paths))
		}
	} else {
		status = iv.status(s.now())
	}
	return &reply{
		status:   http.StatusCreated,
		location: s.invalidationLocation(distID, iv.id),
		root:     "Invalidation",
		body:     invalidationResult(iv, status),
	}, nil
}

func (s *Service) handleGetInvalidation(c *call, ids []string) (*reply, error) {
	if err := s.authorize(c, s.ARN(ids[0])); err != nil {
		return nil, err
	}
	iv, err := s.getInvalidation(ids[0], ids[1])
	if err != nil {
		return nil, err
	}
	return &reply{status: http.StatusOK, root: "Invalidation", body: invalidationResult(iv, iv.status(s.now()))}, nil
}

func (s *Service) handleListInvalidations(c *call, ids []string) (*reply, error) {
	if err := s.authorize(c, s.ARN(ids[0])); err != nil {
		return nil, err
	}
	q := c.r.URL.Query()
	n, err := maxItems(q)
	if err != nil {
		return nil, err
	}
	marker := q.Get("Marker")
	items, next, err := s.listInvalidations(ids[0], marker, n)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := &invalidationListXML{listFields: listFields{Marker: marker, NextMarker: next, MaxItems: n, IsTruncated: next != "", Quantity: len(items)}}
	for _, iv := range items {
		out.Items = append(out.Items, invalidationSummaryXML{ID: iv.id, CreateTime: formatTime(iv.created), Status: iv.status(now)})
	}
	return &reply{status: http.StatusOK, root: "InvalidationList", body: out}, nil
}

// Distributions.

// distributionResult is the Distribution element of d (s.mu held).
func (s *Service) distributionResult(d *distribution, now time.Time) *distributionXML {
	return &distributionXML{
		ID:                            d.id,
		ARN:                           s.ARN(d.id),
		Status:                        d.status(now),
		LastModifiedTime:              formatTime(d.modified),
		InProgressInvalidationBatches: d.inProgressBatches(now),
		DomainName:                    d.domain,
		DistributionConfig:            d.config,
	}
}

func (s *Service) handleCreateDistribution(c *call, _ []string) (*reply, error) {
	id, err := s.newID("E")
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, s.ARN(id)); err != nil {
		return nil, err
	}
	body, err := readBody(c.r, awsapi.RequestEntityTooLarge(maxBody))
	if err != nil {
		return nil, err
	}
	dc := new(DistributionConfig)
	if err := decodeXML(body, "DistributionConfig", dc); err != nil {
		return nil, err
	}
	site, err := s.checkConfig(dc)
	if err != nil {
		return nil, err
	}
	d, err := s.createDistribution(id, dc, site)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	out := s.distributionResult(d, d.modified)
	s.mu.Unlock()
	out.Status = "InProgress"
	return &reply{
		status:   http.StatusCreated,
		location: "https://cloudfront.amazonaws.com/" + APIVersion + "/distribution/" + d.id,
		etag:     d.etag,
		root:     "Distribution",
		body:     out,
	}, nil
}

func (s *Service) handleGetDistribution(c *call, ids []string) (*reply, error) {
	if err := s.authorize(c, s.ARN(ids[0])); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.lookup(ids[0])
	if err != nil {
		return nil, err
	}
	return &reply{status: http.StatusOK, etag: d.etag, root: "Distribution", body: s.distributionResult(d, s.now())}, nil
}

func (s *Service) handleGetDistributionConfig(c *call, ids []string) (*reply, error) {
	if err := s.authorize(c, s.ARN(ids[0])); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.lookup(ids[0])
	if err != nil {
		return nil, err
	}
	return &reply{status: http.StatusOK, etag: d.etag, root: "DistributionConfig", body: &distributionConfigXML{DistributionConfig: d.config}}, nil
}

func (s *Service) handleListDistributions(c *call, _ []string) (*reply, error) {
	if err := s.authorize(c, "*"); err != nil {
		return nil, err
	}
	q := c.r.URL.Query()
	n, err := maxItems(q)
	if err != nil {
		return nil, err
	}
	marker := q.Get("Marker")
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	items, next, err := page(s.dists, func(d *distribution) string { return d.id }, marker, n)
	if err != nil {
		return nil, err
	}
	out := &distributionListXML{listFields: listFields{Marker: marker, NextMarker: next, MaxItems: n, IsTruncated: next != "", Quantity: len(items)}}
	for _, d := range items {
		dc := d.config
		out.Items = append(out.Items, distributionSummaryXML{
			ID:                   d.id,
			ARN:                  s.ARN(d.id),
			ETag:                 d.etag,
			Status:               d.status(now),
			LastModifiedTime:     formatTime(d.modified),
			DomainName:           d.domain,
			Aliases:              dc.Aliases,
			Origins:              dc.Origins,
			OriginGroups:         dc.OriginGroups,
			DefaultCacheBehavior: dc.DefaultCacheBehavior,
			CacheBehaviors:       dc.CacheBehaviors,
			CustomErrorResponses: dc.CustomErrorResponses,
			Comment:              dc.Comment,
			PriceClass:           dc.PriceClass,
			Enabled:              dc.Enabled,
			ViewerCertificate:    dc.ViewerCertificate,
			Restrictions:         dc.Restrictions,
			WebACLID:             dc.WebACLID,
			HTTPVersion:          dc.HTTPVersion,
			IsIPV6Enabled:        dc.IsIPV6Enabled,
			Staging:              dc.Staging,
		})
	}
	return &reply{status: http.StatusOK, root: "DistributionList", body: out}, nil
}
