// Package cataloguetest is the contract suite of catalogue.Service: written
// once against the interface, run against every implementation of it.
package cataloguetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/ids"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
)

// Run runs the contract suite; newService gives each test an empty catalogue.
func Run(t *testing.T, newService func(t *testing.T) catalogue.Service) {
	tests := map[string]func(*testing.T, catalogue.Service){
		"create and get":          createAndGet,
		"sku is unique":           uniqueSKU,
		"update":                  update,
		"delete":                  remove,
		"reads see writes":        readsSeeWrites,
		"list pages and search":   list,
		"list by ids":             listByIDs,
		"list by ids refuses":     listByIDsInvalid,
		"list by ids sees writes": listByIDsSeesWrites,
		"fresh list":              freshList,
		"invalid input":           invalid,
	}
	for name, test := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, newService(t))
		})
	}
}

var ctx = context.Background()

func input() catalogue.ProductInput {
	return catalogue.ProductInput{SKU: ids.New("sku"), Name: "Teapot", Description: "Cast iron", Price: 4500, Currency: "EUR"}
}

func create(t *testing.T, svc catalogue.Service, in catalogue.ProductInput) catalogue.Product {
	t.Helper()
	p, err := svc.Create(ctx, in)
	require.NoError(t, err)
	return p
}

func createAndGet(t *testing.T, svc catalogue.Service) {
	in := input()
	in.Currency = " usd "
	p := create(t, svc, in)
	require.NotEmpty(t, p.ID)
	require.Equal(t, "USD", p.Currency)
	require.Equal(t, in.SKU, p.SKU)
	require.Equal(t, int64(4500), p.Price)
	got, err := svc.Get(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, p, got)
	for _, id := range []string{"prod_missing", "", "a/b"} {
		_, err = svc.Get(ctx, id)
		require.ErrorIs(t, err, catalogue.ErrNotFound, "Get(%q)", id)
	}
}

func uniqueSKU(t *testing.T, svc catalogue.Service) {
	in := input()
	create(t, svc, in)
	_, err := svc.Create(ctx, in)
	require.ErrorIs(t, err, catalogue.ErrDuplicateSKU)
	other := create(t, svc, input())
	in2 := input()
	in2.SKU = in.SKU
	_, err = svc.Update(ctx, other.ID, in2)
	require.ErrorIs(t, err, catalogue.ErrDuplicateSKU)
}

func update(t *testing.T, svc catalogue.Service) {
	p := create(t, svc, input())
	change := catalogue.ProductInput{SKU: ids.New("sku"), Name: "Teapot, small", Price: 3900, Currency: "EUR"}
	got, err := svc.Update(ctx, p.ID, change)
	require.NoError(t, err)
	require.Equal(t, p.ID, got.ID)
	require.Equal(t, "Teapot, small", got.Name)
	require.Equal(t, "", got.Description)
	require.Equal(t, int64(3900), got.Price)
	require.Equal(t, p.CreatedAt, got.CreatedAt)
	_, err = svc.Update(ctx, "prod_missing", change)
	require.ErrorIs(t, err, catalogue.ErrNotFound)
}

func remove(t *testing.T, svc catalogue.Service) {
	p := create(t, svc, input())
	require.NoError(t, svc.Delete(ctx, p.ID))
	_, err := svc.Get(ctx, p.ID)
	require.ErrorIs(t, err, catalogue.ErrNotFound)
	require.ErrorIs(t, svc.Delete(ctx, p.ID), catalogue.ErrNotFound)
	_, err = svc.Update(ctx, p.ID, input())
	require.ErrorIs(t, err, catalogue.ErrNotFound)
	in := input()
	in.SKU = p.SKU
	_, err = svc.Create(ctx, in)
	require.NoError(t, err, "a deleted product frees its sku")
}

// readsSeeWrites: a caller's write shows in its next read, however soon,
// and whatever read came before it.
func readsSeeWrites(t *testing.T, svc catalogue.Service) {
	in := input()
	in.Name = "Teapot for reads"
	p := create(t, svc, in)
	price := func() int64 {
		t.Helper()
		got, err := svc.Get(ctx, p.ID)
		require.NoError(t, err)
		page, err := svc.List(ctx, catalogue.ListQuery{Q: in.Name})
		require.NoError(t, err)
		require.Len(t, page.Data, 1)
		require.Equal(t, got, page.Data[0])
		return got.Price
	}
	require.Equal(t, in.Price, price())
	in.Price++
	_, err := svc.Update(ctx, p.ID, in)
	require.NoError(t, err)
	require.Equal(t, in.Price, price())
	require.NoError(t, svc.Delete(ctx, p.ID))
	_, err = svc.Get(ctx, p.ID)
	require.ErrorIs(t, err, catalogue.ErrNotFound)
	page, err := svc.List(ctx, catalogue.ListQuery{Q: in.Name})
	require.NoError(t, err)
	require.Empty(t, page.Data)
}

func list(t *testing.T, svc catalogue.Service) {
	var made []catalogue.Product
	for i := 0; i < 5; i++ {
		in := input()
		in.Name = "Listed teapot"
		made = append(made, create(t, svc, in))
	}
	create(t, svc, catalogue.ProductInput{SKU: ids.New("other"), Name: "Kettle", Price: 1, Currency: "EUR"})

	var seen []catalogue.Product
	q := catalogue.ListQuery{Limit: 2, Q: "LISTED"}
	for pages := 1; ; pages++ {
		page, err := svc.List(ctx, q)
		require.NoError(t, err)
		seen = append(seen, page.Data...)
		if page.NextCursor == "" {
			require.Equal(t, 3, pages)
			break
		}
		q.Cursor = page.NextCursor
	}
	require.Equal(t, made, seen)

	page, err := svc.List(ctx, catalogue.ListQuery{})
	require.NoError(t, err)
	require.Len(t, page.Data, 6, "no query lists everything, up to the default limit")

	_, err = svc.List(ctx, catalogue.ListQuery{Limit: catalogue.MaxLimit + 1})
	require.ErrorIs(t, err, errs.ErrInvalid)
	_, err = svc.List(ctx, catalogue.ListQuery{Cursor: "garbage"})
	require.ErrorIs(t, err, errs.ErrInvalid)
}

func listByIDs(t *testing.T, svc catalogue.Service) {
	a, b, c := create(t, svc, input()), create(t, svc, input()), create(t, svc, input())
	gone := create(t, svc, input())
	require.NoError(t, svc.Delete(ctx, gone.ID))

	page, err := svc.List(ctx, catalogue.ListQuery{IDs: []string{c.ID, "prod_missing", a.ID, gone.ID, c.ID, b.ID, a.ID}})
	require.NoError(t, err)
	require.Equal(t, []catalogue.Product{c, a, b}, page.Data, "in the order asked, each once, unknown and deleted left out")
	require.Empty(t, page.NextCursor)

	page, err = svc.List(ctx, catalogue.ListQuery{Limit: 1, IDs: []string{b.ID, a.ID}})
	require.NoError(t, err)
	require.Equal(t, []catalogue.Product{b, a}, page.Data, "limit does not apply to ids")

	page, err = svc.List(ctx, catalogue.ListQuery{IDs: []string{"prod_missing", gone.ID, a.ID + "," + b.ID, " " + a.ID}})
	require.NoError(t, err)
	require.Empty(t, page.Data, "ids of no product answer an empty page, not an error")
	require.Empty(t, page.NextCursor)

	most := []string{c.ID}
	for len(most) < catalogue.MaxLimit {
		most = append(most, ids.New("prod"))
	}
	page, err = svc.List(ctx, catalogue.ListQuery{IDs: most})
	require.NoError(t, err)
	require.Equal(t, []catalogue.Product{c}, page.Data, "MaxLimit ids are allowed")
}

func listByIDsInvalid(t *testing.T, svc catalogue.Service) {
	for i := 0; i < 2; i++ {
		create(t, svc, input())
	}
	first, err := svc.List(ctx, catalogue.ListQuery{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, first.NextCursor)
	id := first.Data[0].ID

	tooMany := make([]string, catalogue.MaxLimit+1)
	for i := range tooMany {
		tooMany[i] = id
	}
	for name, tc := range map[string]struct {
		q      catalogue.ListQuery
		fields []string
	}{
		"too many ids":   {catalogue.ListQuery{IDs: tooMany}, []string{"ids"}},
		"an empty id":    {catalogue.ListQuery{IDs: []string{id, ""}}, []string{"ids[1]"}},
		"ids and cursor": {catalogue.ListQuery{IDs: []string{id}, Cursor: first.NextCursor}, []string{"cursor"}},
		"ids and q":      {catalogue.ListQuery{IDs: []string{id}, Q: "Teapot"}, []string{"q"}},
	} {
		_, err := svc.List(ctx, tc.q)
		require.ErrorIs(t, err, errs.ErrInvalid, name)
		var verr *errs.ValidationError
		require.ErrorAs(t, err, &verr, name)
		var fields []string
		for _, f := range verr.Fields {
			fields = append(fields, f.Field)
		}
		require.Equal(t, tc.fields, fields, name)
	}
}

// listByIDsSeesWrites: a product read by ids, and remembered by a cache,
// is read again once this service changes or deletes it.
func listByIDsSeesWrites(t *testing.T, svc catalogue.Service) {
	a, b := create(t, svc, input()), create(t, svc, input())
	q := catalogue.ListQuery{IDs: []string{a.ID, b.ID}}
	page, err := svc.List(ctx, q)
	require.NoError(t, err)
	require.Equal(t, []catalogue.Product{a, b}, page.Data)

	change := input()
	change.Name = "Teapot, renamed"
	a, err = svc.Update(ctx, a.ID, change)
	require.NoError(t, err)
	page, err = svc.List(ctx, q)
	require.NoError(t, err)
	require.Equal(t, []catalogue.Product{a, b}, page.Data)

	require.NoError(t, svc.Delete(ctx, b.ID))
	page, err = svc.List(ctx, q)
	require.NoError(t, err)
	require.Equal(t, []catalogue.Product{a}, page.Data)
	got, err := svc.Get(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, a, got)
	_, err = svc.Get(ctx, b.ID)
	require.ErrorIs(t, err, catalogue.ErrNotFound)
}

// freshList: a fresh query answers, and refuses, as any other; what it
// adds (never from memory) shows only with several replicas.
func freshList(t *testing.T, svc catalogue.Service) {
	a, b := create(t, svc, input()), create(t, svc, input())
	require.NoError(t, svc.Delete(ctx, b.ID))
	page, err := svc.List(ctx, catalogue.ListQuery{IDs: []string{b.ID, a.ID}, Fresh: true})
	require.NoError(t, err)
	require.Equal(t, []catalogue.Product{a}, page.Data)
	page, err = svc.List(ctx, catalogue.ListQuery{Q: a.SKU, Fresh: true})
	require.NoError(t, err)
	require.Equal(t, []catalogue.Product{a}, page.Data)

	_, err = svc.List(ctx, catalogue.ListQuery{IDs: []string{a.ID, ""}, Fresh: true})
	require.ErrorIs(t, err, errs.ErrInvalid)
	var verr *errs.ValidationError
	require.ErrorAs(t, err, &verr)
	require.Equal(t, "ids[1]", verr.Fields[0].Field)
}

func invalid(t *testing.T, svc catalogue.Service) {
	for name, change := range map[string]func(*catalogue.ProductInput){
		"no sku":         func(in *catalogue.ProductInput) { in.SKU = "  " },
		"no name":        func(in *catalogue.ProductInput) { in.Name = "" },
		"negative price": func(in *catalogue.ProductInput) { in.Price = -1 },
		"huge price":     func(in *catalogue.ProductInput) { in.Price = 1 << 62 },
		"bad currency":   func(in *catalogue.ProductInput) { in.Currency = "EURO" },
		"not ISO 4217":   func(in *catalogue.ProductInput) { in.Currency = "ABC" },
	} {
		in := input()
		change(&in)
		_, err := svc.Create(ctx, in)
		require.ErrorIs(t, err, errs.ErrInvalid, name)
	}
	page, err := svc.List(ctx, catalogue.ListQuery{})
	require.NoError(t, err)
	require.Empty(t, page.Data, "nothing invalid was stored")
}
