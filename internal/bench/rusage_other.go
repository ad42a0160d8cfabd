//go:build !unix

package bench

import "os"

// maxRSS is unknown where there is no rusage.
func maxRSS(*os.ProcessState) uint64 { return 0 }
