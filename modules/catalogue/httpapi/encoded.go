package httpapi

import (
	"encoding/json"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/bazaar-shop/bazaar/modules/catalogue"
)

// encodedProducts keeps the JSON of the products lately answered, alone or
// in a page. A product is read far more often than it changes, and encoding
// it was a tenth of a read's CPU, and most of a page's. A kept body is used
// only for a product equal, field by field, to the one it was made from, so
// the service stays the one source of truth: a changed product is a miss,
// encoded again.
type encodedProducts struct {
	bodies *lru.Cache[string, encodedProduct]
}

type encodedProduct struct {
	product catalogue.Product
	body    []byte
}

// keptProducts bounds the memory kept, as the service's cache bounds its
// own: a product's JSON is some 300 bytes, and at most about 30 KB with the
// longest description allowed.
const keptProducts = 10_000

func newEncodedProducts() *encodedProducts {
	bodies, _ := lru.New[string, encodedProduct](keptProducts) // errs only on size <= 0
	return &encodedProducts{bodies: bodies}
}

// body returns p's JSON, as encoding/json writes it.
func (e *encodedProducts) body(p catalogue.Product) ([]byte, error) {
	// Peek, not Get: a read shares the cache's lock with other reads, and
	// what is evicted first matters little when a miss costs one encoding.
	if kept, ok := e.bodies.Peek(p.ID); ok && kept.product == p {
		return kept.body, nil
	}
	body, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	e.bodies.Add(p.ID, encodedProduct{product: p, body: body})
	return body, nil
}

// page returns p's JSON, as encoding/json writes it, from the bodies of its
// products.
func (e *encodedProducts) page(p catalogue.Page) ([]byte, error) {
	cursor, err := json.Marshal(p.NextCursor)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 64+len(p.Data)*384)
	b = append(b, `{"data":`...)
	if p.Data == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, prod := range p.Data {
			body, err := e.body(prod)
			if err != nil {
				return nil, err
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, body...)
		}
		b = append(b, ']')
	}
	b = append(b, `,"next_cursor":`...)
	b = append(b, cursor...)
	return append(b, '}'), nil
}
