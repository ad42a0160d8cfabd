package webhook_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/webhook"
)

// The example of the Standard Webhooks specification: a signature made
// elsewhere must verify here.
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS     = 1614265330
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func headers(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set(webhook.HeaderID, id)
	h.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(webhook.HeaderSignature, sig)
	return h
}

func TestSpecExample(t *testing.T) {
	at := time.Unix(specTS, 0)
	sig, err := webhook.Sign(specSecret, specID, at, []byte(specBody))
	require.NoError(t, err)
	require.Equal(t, specSig, sig)
	require.NoError(t, webhook.Verify(specSecret, headers(specID, specTS, specSig), []byte(specBody), 5*time.Minute, at.Add(time.Minute)))
}

func TestVerifyRefuses(t *testing.T) {
	at := time.Unix(specTS, 0)
	good := headers(specID, specTS, specSig)
	cases := map[string]struct {
		secret string
		h      http.Header
		body   string
		now    time.Time
		want   error
	}{
		"changed body":         {specSecret, good, `{"test": 1}`, at, webhook.ErrNoMatch},
		"other id":             {specSecret, headers("msg_other", specTS, specSig), specBody, at, webhook.ErrNoMatch},
		"wrong secret":         {"whsec_" + "c2VjcmV0", good, specBody, at, webhook.ErrNoMatch},
		"too old":              {specSecret, good, specBody, at.Add(10 * time.Minute), webhook.ErrTooOld},
		"from the future":      {specSecret, good, specBody, at.Add(-10 * time.Minute), webhook.ErrTooOld},
		"no headers":           {specSecret, http.Header{}, specBody, at, webhook.ErrMissingHeaders},
		"secret without whsec": {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", good, specBody, at, webhook.ErrBadSecret},
		"v2 signature":         {specSecret, headers(specID, specTS, "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), specBody, at, webhook.ErrNoMatch},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, webhook.Verify(tc.secret, tc.h, []byte(tc.body), 5*time.Minute, tc.now), tc.want)
		})
	}
	t.Run("one of several signatures", func(t *testing.T) {
		h := headers(specID, specTS, "v1,bm9wZQ== "+specSig)
		require.NoError(t, webhook.Verify(specSecret, h, []byte(specBody), 5*time.Minute, at))
	})
}

// FuzzVerify: whatever arrives, Verify answers without panicking, and only
// the real signature passes.
func FuzzVerify(f *testing.F) {
	f.Add(specID, "1614265330", specSig, specBody)
	f.Add("", "", "", "")
	f.Add("x", "-1", "v1,", "{}")
	f.Add("x", "99999999999999999999", "v1,,, v1", "\x00")
	at := time.Unix(specTS, 0)
	f.Fuzz(func(t *testing.T, id, ts, sig, body string) {
		h := http.Header{}
		h.Set(webhook.HeaderID, id)
		h.Set(webhook.HeaderTimestamp, ts)
		h.Set(webhook.HeaderSignature, sig)
		err := webhook.Verify(specSecret, h, []byte(body), 5*time.Minute, at)
		if err == nil && (id != specID || body != specBody) {
			t.Fatalf("a forged delivery verified: id=%q ts=%q sig=%q body=%q", id, ts, sig, body)
		}
	})
}
