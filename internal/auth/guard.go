package auth

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/identity"
	"github.com/bazaar-shop/bazaar/internal/web"
)

// ServiceTokenHeader carries the token that modules present to each other.
const ServiceTokenHeader = "X-Service-Token"

// Refusals that say what to do instead.
var (
	errInternal    = errs.Of(errs.Unauthorized, "internal routes need the service token")
	errBehindEdge  = errs.Of(errs.Unauthorized, "this process serves modules behind the gateway and holds no API keys: call through the gateway")
	errNoAssertion = errs.Of(errs.Unauthorized, "caller assertions need the service token (service_token) to be checked")
)

// Require enforces an access level. The caller is, in this order: a peer
// presenting the service token (the only way into internal routes); the
// caller asserted by an edge; or, at an edge, the holder of the API key in
// Authorization — a key sent to a public route is checked too. No or an
// unknown key is 401, a key without the role 403.
func (k *Keys) Require(access web.Access) gin.HandlerFunc {
	return func(c *gin.Context) {
		caller, checked, err := k.identify(c, access)
		if err != nil {
			if errs.Code(err) == errs.CodeUnauthorized {
				c.Header("WWW-Authenticate", `Bearer realm="bazaar"`)
			}
			web.Error(c, err)
			return
		}
		if err := allowed(caller, access); err != nil {
			if errors.Is(err, errs.ErrUnauthorized) {
				c.Header("WWW-Authenticate", `Bearer realm="bazaar"`)
			}
			web.Error(c, err)
			return
		}
		web.SetCaller(c, caller)
		if checked && !k.withinLimit(c, caller) {
			return
		}
		c.Next()
	}
}

// withinLimit applies the edge's rate limit to what comes from outside: a
// key by its id, a caller with none by its address. Over the limit, it
// answers 429 and reports false.
func (k *Keys) withinLimit(c *gin.Context, caller identity.Caller) bool {
	if caller.Key == "" {
		if k.anonymous.off() {
			return true // the address would be worked out for nothing
		}
		return k.anonymous.limit(c, "address:"+c.ClientIP())
	}
	if k.limits.off() {
		return true
	}
	return k.limits.limit(c, caller.Principal())
}

// identify finds out who calls; checked says the key was checked here
// (not by a peer), so its rate limit applies here.
func (k *Keys) identify(c *gin.Context, access web.Access) (caller identity.Caller, checked bool, err error) {
	if k.isService(c.GetHeader(ServiceTokenHeader)) {
		return identity.Service, false, nil
	}
	if assertion := c.GetHeader(identity.Header); assertion != "" {
		caller, err := k.asserted(c, assertion)
		return caller, false, err
	}
	switch {
	case access == web.Internal:
		return identity.Caller{}, false, errInternal
	case !k.Edge():
		return identity.Caller{}, false, errBehindEdge
	}
	header := c.GetHeader("Authorization")
	if header == "" {
		return identity.Caller{}, true, nil // anonymous: allowed decides
	}
	caller, err = k.Authenticate(c.Request.Context(), bearer(header))
	return caller, true, err
}

// asserted checks a caller assertion against the request it came with.
func (k *Keys) asserted(c *gin.Context, assertion string) (identity.Caller, error) {
	if k.verifier == nil {
		return identity.Caller{}, errNoAssertion
	}
	var body []byte
	if c.Request.Body != nil && c.Request.Body != http.NoBody {
		raw, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, web.MaxBodyBytes))
		if err != nil {
			return identity.Caller{}, errs.Of(errs.TooLarge, "the request body is too large")
		}
		body = raw
		c.Request.Body = io.NopCloser(bytes.NewReader(raw)) // the handler reads it again
	}
	caller, err := k.verifier.Verify(c.Request.Method, c.Request.RequestURI, body, assertion)
	if err != nil {
		return identity.Caller{}, errs.Of(errs.Unauthorized, "the caller assertion was refused: "+err.Error())
	}
	return caller, nil
}

// allowed checks a caller's role against an access level.
func allowed(caller identity.Caller, access web.Access) error {
	switch {
	case access == web.Public || caller == identity.Service:
		return nil
	case access == web.Internal:
		return errInternal
	case caller.Role == "":
		return errs.ErrUnauthorized
	case caller.Role == string(Admin):
		return nil
	case access == web.Storefront && caller.Role == string(Storefront):
		return nil
	}
	return errs.ErrForbidden
}

func (k *Keys) isService(token string) bool {
	return k.serviceToken != "" && token != "" &&
		subtle.ConstantTimeCompare([]byte(token), []byte(k.serviceToken)) == 1
}

func bearer(header string) string {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

var _ web.Guard = (*Keys)(nil)
