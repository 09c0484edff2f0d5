package bench

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// Error is a failed request with the code it is counted under: the AWS error
// code of the answer when it has one, else "HTTP <status>".
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

// ErrorCode is the code a failed request is counted under: an *Error's code,
// Timeout for a request that ran out of time, ConnectionError for a failure
// to connect or a broken connection, else Error.
func ErrorCode(err error) string {
	var be *Error
	var ne net.Error
	switch {
	case errors.As(err, &be):
		return be.Code
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "Timeout"
	case errors.As(err, &ne), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "ConnectionError"
	}
	return "Error"
}

// checkAnswer reads and closes resp's body and returns nil for a 2xx status,
// else an *Error with the code and message of the AWS error document (XML or
// JSON) it carries.
func checkAnswer(resp *http.Response) error {
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		_, err := io.Copy(io.Discard, resp.Body)
		if err != nil {
			return fmt.Errorf("read the answer: %w", err)
		}
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, _ = io.Copy(io.Discard, resp.Body)
	code, msg := awsErrorCode(body)
	if code == "" {
		code = "HTTP " + strconv.Itoa(resp.StatusCode)
		msg = strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
	}
	return &Error{Code: code, Message: msg}
}

// awsErrorCode finds the Code and Message of an AWS error document: the Query
// and REST-XML shapes (<Code> anywhere in the document) and the JSON shapes
// ({"__type": …} or {"code": …}).
func awsErrorCode(body []byte) (code, msg string) {
	b := strings.TrimSpace(string(body))
	if strings.HasPrefix(b, "<") {
		dec := xml.NewDecoder(strings.NewReader(b))
		var field string
		for {
			tok, err := dec.Token()
			if err != nil {
				return code, msg
			}
			switch t := tok.(type) {
			case xml.StartElement:
				field = t.Name.Local
			case xml.EndElement:
				field = ""
			case xml.CharData:
				switch {
				case field == "Code" && code == "":
					code = strings.TrimSpace(string(t))
				case field == "Message" && msg == "":
					msg = strings.TrimSpace(string(t))
				}
			}
		}
	}
	var doc struct {
		Type    string `json:"__type"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Error   *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"` // keyless's own APIs, such as the mint endpoint
	}
	if json.Unmarshal([]byte(b), &doc) == nil {
		code = doc.Type
		if code == "" {
			code = doc.Code
		}
		if code == "" && doc.Error != nil {
			code, doc.Message = doc.Error.Code, doc.Error.Message
		}
		if i := strings.LastIndexByte(code, '#'); i >= 0 {
			code = code[i+1:]
		}
		return code, doc.Message
	}
	return "", ""
}
