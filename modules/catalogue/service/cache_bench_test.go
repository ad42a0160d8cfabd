package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/catalogue/service"
)

// BenchmarkCachedGet is a Get answered from memory: the path every product
// page takes while the cache holds the product.
func BenchmarkCachedGet(b *testing.B) {
	ctx := context.Background()
	svc := service.New(testdb.Engines()[0].Open(b, "catalogue").DB, now).WithCache(time.Minute, time.Second)
	p, err := svc.Create(ctx, catalogue.ProductInput{SKU: "TEA", Name: "Tea", Price: 450, Currency: "EUR"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Get(ctx, p.ID); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Get(ctx, p.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
