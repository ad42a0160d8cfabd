package service

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Run waits until the next retry is due, within a millisecond and the
// poll interval.
func TestSleepFor(t *testing.T) {
	poll := time.Second
	require.Equal(t, 300*time.Millisecond, sleepFor(300*time.Millisecond, poll))
	require.Equal(t, poll, sleepFor(time.Hour, poll), "never past the poll interval")
	require.Equal(t, time.Millisecond, sleepFor(-time.Second, poll), "overdue: at once, without spinning")
}
