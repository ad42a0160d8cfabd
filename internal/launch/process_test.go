package launch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTail(t *testing.T) {
	tl := &tail{max: 8}
	_, _ = tl.Write([]byte("hello "))
	_, _ = tl.Write([]byte("world"))
	require.Equal(t, "lo world", tl.String(), "the last bytes are kept")
	require.Equal(t, "    a\n    b\n", Indent("a\nb\n"))
}
