package database

import "context"

// PruneBatch bounds one delete of a retention, so that pruning never holds
// a writer for long.
const PruneBatch = 500

// Prune runs batch — a delete of at most limit rows, which says how many
// it deleted — until one deletes fewer than PruneBatch, and says how many
// were deleted in all.
func Prune(ctx context.Context, batch func(ctx context.Context, limit int) (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := batch(ctx, PruneBatch)
		total += n
		if err != nil || n < PruneBatch {
			return total, err
		}
	}
}
