package bench

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Op is one kind of request the workload sends.
type Op string

// The operations of the workload, modelled on a shop's traffic.
const (
	// OpList is GET /v1/products?limit=20, half of the time searching
	// with q=<a word of the seeded product names>.
	OpList Op = "list"
	// OpGet is GET /v1/products/{id} of a random seeded product.
	OpGet Op = "get"
	// OpStock is GET /v1/inventory/{id} of a random seeded product.
	OpStock Op = "stock"
	// OpCheckout is POST /v1/payments of 1–3 random products, 1–2 of each,
	// with a card that a share of the time the sandbox declines.
	OpCheckout Op = "checkout"
)

// Ops lists every operation, in the order reports show them.
var Ops = []Op{OpList, OpGet, OpStock, OpCheckout}

// DefaultMix is the workload a shop sees: browsing dominates, a few
// visitors look at stock, one in nineteen requests buys.
const DefaultMix = "list=10,get=5,stock=3,checkout=1"

// Weight is how often one operation is picked, relative to the others.
type Weight struct {
	Op     Op
	Weight int
}

// Mix is a weighted choice among operations. Its order is the order the
// operations were given in.
type Mix []Weight

// ParseMix reads "op=weight,op=weight", e.g. DefaultMix. Every op must be
// known and appear once; weights are non-negative integers, not all zero.
// An op left out has weight 0.
func ParseMix(s string) (Mix, error) {
	var m Mix
	seen := map[Op]bool{}
	total := 0
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, raw, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want op=weight, e.g. %s", part, DefaultMix)
		}
		op := Op(strings.TrimSpace(name))
		if !known(op) {
			return nil, fmt.Errorf("unknown op %q: the ops are list, get, stock and checkout", op)
		}
		if seen[op] {
			return nil, fmt.Errorf("%s is given twice", op)
		}
		seen[op] = true
		w, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil || w < 0 {
			return nil, fmt.Errorf("%s=%s: the weight must be a whole number of at least 0", op, raw)
		}
		total += w
		m = append(m, Weight{Op: op, Weight: w})
	}
	if total == 0 {
		return nil, fmt.Errorf("%q: at least one op needs a weight above 0", s)
	}
	return m, nil
}

func known(op Op) bool { return slices.Contains(Ops, op) }

// String is the mix as ParseMix reads it.
func (m Mix) String() string {
	parts := make([]string, len(m))
	for i, w := range m {
		parts[i] = fmt.Sprintf("%s=%d", w.Op, w.Weight)
	}
	return strings.Join(parts, ",")
}

// Has reports whether op has a weight above 0.
func (m Mix) Has(op Op) bool { return m.weight(op) > 0 }

func (m Mix) weight(op Op) int {
	for _, w := range m {
		if w.Op == op {
			return w.Weight
		}
	}
	return 0
}

// Active lists the operations with a weight above 0, in report order.
func (m Mix) Active() []Op {
	var ops []Op
	for _, op := range Ops {
		if m.Has(op) {
			ops = append(ops, op)
		}
	}
	return ops
}

// Pick chooses an operation with probability proportional to its weight.
func (m Mix) Pick(rng *rand.Rand) Op {
	total := 0
	for _, w := range m {
		total += w.Weight
	}
	n := rng.IntN(total)
	for _, w := range m {
		if n < w.Weight {
			return w.Op
		}
		n -= w.Weight
	}
	panic("bench: Pick on an empty mix") // ParseMix refuses one
}

// Only is a mix of one operation.
func Only(op Op) Mix { return Mix{{Op: op, Weight: 1}} }
