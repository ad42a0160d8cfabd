// Package webhook signs and verifies Bazaar's webhook deliveries, which
// follow the Standard Webhooks specification (standardwebhooks.com). A
// receiver written in Go checks a delivery with Verify:
//
//	func receive(w http.ResponseWriter, r *http.Request) {
//		body, _ := io.ReadAll(r.Body)
//		if err := webhook.Verify(secret, r.Header, body, 5*time.Minute, time.Now()); err != nil {
//			http.Error(w, "bad signature", http.StatusUnauthorized)
//			return
//		}
//		// The webhook-id header is the event id: use it to drop duplicates.
//	}
//
// The secret is the one shown once when the endpoint was registered
// ("whsec_" and base64).
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a delivery.
const (
	HeaderID        = "webhook-id"        // the event id, the same on every attempt
	HeaderTimestamp = "webhook-timestamp" // Unix seconds when this attempt was signed
	HeaderSignature = "webhook-signature" // "v1," + base64 HMAC-SHA256, space-separated if several
)

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// Errors of Verify.
var (
	ErrMissingHeaders = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	ErrBadSecret      = errors.New("webhook: the secret is not whsec_ followed by base64")
	ErrTooOld         = errors.New("webhook: the timestamp is outside the tolerance")
	ErrNoMatch        = errors.New("webhook: no signature matches")
)

// Sign returns the webhook-signature value for a message.
func Sign(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	return "v1," + signature(key, id, strconv.FormatInt(timestamp.Unix(), 10), body), nil
}

func signature(key []byte, id, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func secretKey(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, ErrBadSecret
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) == 0 {
		return nil, ErrBadSecret
	}
	return key, nil
}

// Verify checks that body and headers are a delivery signed with secret,
// sent within tolerance of now (which stops replays of old deliveries).
func Verify(secret string, h http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingHeaders
	}
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrTooOld
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrTooOld
	}
	want := signature(key, id, ts, body)
	for _, sig := range strings.Fields(sigs) {
		if v, s, ok := strings.Cut(sig, ","); ok && v == "v1" && hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrNoMatch
}
