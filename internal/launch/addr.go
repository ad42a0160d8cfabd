package launch

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
)

// lowestPort is where FreeAddr starts looking: above the ports services
// are commonly configured on.
const lowestPort = 10000

// FreeAddr returns a loopback address nobody listens on, for a process to
// bind soon. The port is chosen at random below the kernel's ephemeral
// range, from which outgoing connections and ":0" listeners are given
// theirs: on a busy machine a port picked from that range can be taken
// between the choice and the bind, and then the process fails to start.
func FreeAddr() (string, error) {
	high := ephemeralLow()
	for range 100 {
		port := lowestPort + rand.IntN(high-lowestPort)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr, nil
	}
	return "", errors.New("find a free loopback port: 100 tries found none")
}

// ephemeralLow is the first port of the kernel's ephemeral range: Linux
// says it; elsewhere the range IANA suggests, which BSDs and macOS use.
func ephemeralLow() int {
	low := 49152
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var l, h int
		if _, err := fmt.Sscan(string(b), &l, &h); err == nil {
			low = l
		}
	}
	return max(low, lowestPort+1000)
}
