package apitest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/modules/catalogue"
)

func (s *suite) products(t *testing.T) {
	in := catalogue.ProductInput{SKU: unique("mug"), Name: "Enamel mug", Description: "Blue, 350 ml", Price: 1250, Currency: "eur"}
	var p catalogue.Product
	r := s.c.Do(t, "POST", "/v1/products", s.admin, in)
	r.Expect(t, http.StatusCreated, &p)
	require.True(t, strings.HasPrefix(p.ID, "prod_"), p.ID)
	require.Equal(t, "/v1/products/"+p.ID, r.Header.Get("Location"))
	require.Equal(t, in.SKU, p.SKU)
	require.Equal(t, "Enamel mug", p.Name)
	require.Equal(t, "Blue, 350 ml", p.Description)
	require.Equal(t, int64(1250), p.Price)
	require.Equal(t, "EUR", p.Currency, "currency codes are stored upper-case")
	require.False(t, p.CreatedAt.IsZero())
	require.Equal(t, p.CreatedAt, p.UpdatedAt)

	t.Run("get", func(t *testing.T) {
		var got catalogue.Product
		s.c.Do(t, "GET", "/v1/products/"+p.ID, "", nil).Expect(t, http.StatusOK, &got)
		require.Equal(t, p, got)
		s.c.Do(t, "GET", "/v1/products/prod_missing", "", nil).Problem(t, http.StatusNotFound, "not_found")
	})
	t.Run("duplicate sku is 409", func(t *testing.T) {
		dup := in
		dup.Name = "Another"
		s.c.Do(t, "POST", "/v1/products", s.admin, dup).Problem(t, http.StatusConflict, "conflict")
	})
	t.Run("invalid fields are listed", func(t *testing.T) {
		bad := map[string]any{"sku": "", "name": "", "price": -1, "currency": "EURO"}
		prob := s.c.Do(t, "POST", "/v1/products", s.admin, bad).Problem(t, http.StatusUnprocessableEntity, "validation_failed")
		require.ElementsMatch(t, []string{"sku", "name", "price", "currency"}, prob.Fields())
		bad = map[string]any{"sku": unique("x"), "name": "x", "currency": "EUR"}
		prob = s.c.Do(t, "POST", "/v1/products", s.admin, bad).Problem(t, http.StatusUnprocessableEntity, "validation_failed")
		require.Equal(t, []string{"price"}, prob.Fields(), "a forgotten price is an error, not a free product")
		bad = map[string]any{"sku": unique("x"), "name": "x", "price": 1, "currency": "XYZ"}
		prob = s.c.Do(t, "POST", "/v1/products", s.admin, bad).Problem(t, http.StatusUnprocessableEntity, "validation_failed")
		require.Equal(t, []string{"currency"}, prob.Fields())
	})
	t.Run("malformed bodies are 400", func(t *testing.T) {
		for name, body := range map[string]Raw{
			"broken JSON":   `{"sku": "a",`,
			"unknown field": `{"sku":"a","name":"b","price":1,"currency":"EUR","colour":"red"}`,
			"wrong type":    `{"sku":"a","name":"b","price":"12.50","currency":"EUR"}`,
			"trailing data": `{"sku":"a","name":"b","price":1,"currency":"EUR"} {}`,
			"fraction":      `{"sku":"a","name":"b","price":12.5,"currency":"EUR"}`,
			"empty":         ``,
			"array":         `[]`,
			"null":          `null`,
			// Two parsers on the way could read it two ways.
			"a member twice": `{"sku":"dup-a","sku":"dup-b","name":"b","price":1,"currency":"EUR"}`,
		} {
			t.Run(name, func(t *testing.T) {
				s.c.Do(t, "POST", "/v1/products", s.admin, body).Problem(t, http.StatusBadRequest, "malformed_request")
			})
		}
	})
	t.Run("a body over 1 MiB is 413", func(t *testing.T) {
		huge := Raw(`{"sku":"big","name":"big","price":1,"currency":"EUR","description":"` + strings.Repeat("x", 1<<20) + `"}`)
		s.c.Do(t, "POST", "/v1/products", s.admin, huge).Problem(t, http.StatusRequestEntityTooLarge, "body_too_large")
	})
	t.Run("update replaces the editable fields", func(t *testing.T) {
		change := catalogue.ProductInput{SKU: in.SKU + "-v2", Name: "Enamel mug, large", Price: 1500, Currency: "EUR"}
		var got catalogue.Product
		s.c.Do(t, "PUT", "/v1/products/"+p.ID, s.admin, change).Expect(t, http.StatusOK, &got)
		require.Equal(t, p.ID, got.ID)
		require.Equal(t, change.SKU, got.SKU)
		require.Equal(t, "", got.Description, "a replace clears what it leaves out")
		require.Equal(t, int64(1500), got.Price)
		require.Equal(t, p.CreatedAt, got.CreatedAt)
		require.False(t, got.UpdatedAt.Before(p.UpdatedAt))

		// Another catalogue replica than the one that took the change may
		// answer from its cache a little longer: catalogue.cache_check
		// bounds it (1 s by default). The change shows within that.
		deadline := time.Now().Add(5 * time.Second)
		for {
			s.c.Do(t, "GET", "/v1/products/"+p.ID, "", nil).Expect(t, http.StatusOK, &got)
			if got.Name == "Enamel mug, large" || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		require.Equal(t, "Enamel mug, large", got.Name)

		s.c.Do(t, "PUT", "/v1/products/prod_missing", s.admin, change).Problem(t, http.StatusNotFound, "not_found")
		change.Price = -5
		s.c.Do(t, "PUT", "/v1/products/"+p.ID, s.admin, change).Problem(t, http.StatusUnprocessableEntity, "validation_failed")
		other := s.product(t, 1, "EUR", 0)
		change.Price, change.SKU = 1, other.SKU
		s.c.Do(t, "PUT", "/v1/products/"+p.ID, s.admin, change).Problem(t, http.StatusConflict, "conflict")
		s.c.Do(t, "PUT", "/v1/products/"+p.ID, s.admin, Raw(`{"name":`)).Problem(t, http.StatusBadRequest, "malformed_request")
	})
	t.Run("delete", func(t *testing.T) {
		gone := s.product(t, 700, "EUR", 5)
		s.c.Do(t, "DELETE", "/v1/products/"+gone.ID, s.admin, nil).Expect(t, http.StatusNoContent, nil)
		s.c.Do(t, "GET", "/v1/products/"+gone.ID, "", nil).Problem(t, http.StatusNotFound, "not_found")
		s.c.Do(t, "DELETE", "/v1/products/"+gone.ID, s.admin, nil).Problem(t, http.StatusNotFound, "not_found")
		s.c.Do(t, "PUT", "/v1/products/"+gone.ID, s.admin, catalogue.ProductInput{SKU: unique("z"), Name: "z", Price: 1, Currency: "EUR"}).
			Problem(t, http.StatusNotFound, "not_found")
		s.c.Do(t, "GET", "/v1/inventory/"+gone.ID, s.admin, nil).Problem(t, http.StatusNotFound, "not_found")

		var page catalogue.Page
		s.c.Do(t, "GET", "/v1/products?q="+url.QueryEscape(gone.SKU), "", nil).Expect(t, http.StatusOK, &page)
		require.Empty(t, page.Data, "a deleted product is not listed")

		prob := s.c.Do(t, "POST", "/v1/payments", s.storefront, order(goodCard, item(gone, 1))).
			Problem(t, http.StatusUnprocessableEntity, "unknown_product")
		require.Equal(t, []string{"items[0].product_id"}, prob.Fields())

		again := catalogue.ProductInput{SKU: gone.SKU, Name: "Back in the range", Price: 1, Currency: "EUR"}
		s.c.Do(t, "POST", "/v1/products", s.admin, again).Expect(t, http.StatusCreated, nil)
	})
}

func (s *suite) productList(t *testing.T) {
	tag := unique("list")
	var made []catalogue.Product
	for i := 0; i < 5; i++ {
		var p catalogue.Product
		in := catalogue.ProductInput{SKU: tag + "-" + string(rune('a'+i)), Name: "Listed " + strings.ToUpper(tag), Price: int64(100 + i), Currency: "USD"}
		s.c.Do(t, "POST", "/v1/products", s.admin, in).Expect(t, http.StatusCreated, &p)
		made = append(made, p)
	}

	t.Run("pages walk every match once, in a stable order", func(t *testing.T) {
		var seen []catalogue.Product
		cursor, pages := "", 0
		for {
			var page catalogue.Page
			path := "/v1/products?limit=2&q=" + url.QueryEscape(tag) + "&cursor=" + url.QueryEscape(cursor)
			s.c.Do(t, "GET", path, "", nil).Expect(t, http.StatusOK, &page)
			require.LessOrEqual(t, len(page.Data), 2)
			seen = append(seen, page.Data...)
			pages++
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
			require.Less(t, pages, 10, "pagination must end")
		}
		require.Equal(t, 3, pages)
		require.Equal(t, made, seen)
	})
	t.Run("q matches name or sku, ignoring case", func(t *testing.T) {
		var page catalogue.Page
		s.c.Do(t, "GET", "/v1/products?q="+url.QueryEscape(strings.ToUpper(made[2].SKU)), "", nil).Expect(t, http.StatusOK, &page)
		require.Equal(t, []catalogue.Product{made[2]}, page.Data)
		s.c.Do(t, "GET", "/v1/products?limit=100&q="+url.QueryEscape("listed "+tag), "", nil).Expect(t, http.StatusOK, &page)
		require.Len(t, page.Data, 5)
		s.c.Do(t, "GET", "/v1/products?q="+url.QueryEscape("%"+tag), "", nil).Expect(t, http.StatusOK, &page)
		require.Empty(t, page.Data, "LIKE wildcards in q are matched literally")
	})
	t.Run("default limit is 20", func(t *testing.T) {
		var page catalogue.Page
		s.c.Do(t, "GET", "/v1/products", "", nil).Expect(t, http.StatusOK, &page)
		require.LessOrEqual(t, len(page.Data), 20)
		require.NotNil(t, page.Data)
	})
	t.Run("ids answers exactly those products", func(t *testing.T) {
		var gone catalogue.Product
		s.c.Do(t, "POST", "/v1/products", s.admin, catalogue.ProductInput{SKU: tag + "-gone", Name: "Gone", Price: 1, Currency: "USD"}).
			Expect(t, http.StatusCreated, &gone)
		s.c.Do(t, "DELETE", "/v1/products/"+gone.ID, s.admin, nil).Expect(t, http.StatusNoContent, nil)

		var page catalogue.Page
		ids := strings.Join([]string{made[3].ID, "prod_missing", made[0].ID, gone.ID, made[3].ID}, ",")
		s.c.Do(t, "GET", "/v1/products?ids="+ids, "", nil).Expect(t, http.StatusOK, &page)
		require.Equal(t, []catalogue.Product{made[3], made[0]}, page.Data, "in the order asked, each once, unknown and deleted left out")
		require.Empty(t, page.NextCursor)
		s.c.Do(t, "GET", "/v1/products?limit=1&ids="+made[1].ID+","+made[2].ID, "", nil).Expect(t, http.StatusOK, &page)
		require.Equal(t, []catalogue.Product{made[1], made[2]}, page.Data, "limit does not apply to ids")

		tooMany := strings.TrimSuffix(strings.Repeat(made[0].ID+",", catalogue.MaxLimit+1), ",")
		prob := s.c.Do(t, "GET", "/v1/products?ids="+tooMany, "", nil).Problem(t, http.StatusUnprocessableEntity, "validation_failed")
		require.Equal(t, []string{"ids"}, prob.Fields())
		for q, field := range map[string]string{
			"ids=":                    "ids[0]",
			"ids=" + made[0].ID + ",": "ids[1]",
			"ids=" + made[0].ID + "&q=" + url.QueryEscape(tag): "q",
		} {
			prob := s.c.Do(t, "GET", "/v1/products?"+q, "", nil).Problem(t, http.StatusUnprocessableEntity, "validation_failed")
			require.Equal(t, []string{field}, prob.Fields(), q)
		}
	})
	t.Run("bad list parameters are 422", func(t *testing.T) {
		for _, q := range []string{"limit=101", "limit=0", "limit=-1", "limit=", "limit=ten", "cursor=not-a-cursor"} {
			s.c.Do(t, "GET", "/v1/products?"+q, "", nil).Problem(t, http.StatusUnprocessableEntity, "validation_failed")
		}
	})
}
