package app

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestResolvable(t *testing.T) {
	ctx := context.Background()
	require.NoError(t, resolvable(ctx, []string{"http://127.0.0.1:1", "http://localhost:8080"}, time.Second))

	err := resolvable(ctx, []string{"http://127.0.0.1:1", "http://no-such-module.invalid:8080"}, 100*time.Millisecond)
	require.ErrorContains(t, err, `the host "no-such-module.invalid" of http://no-such-module.invalid:8080 does not resolve`)
}
