package app

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bazaar-shop/bazaar/config"
	"github.com/bazaar-shop/bazaar/modules"
	"github.com/bazaar-shop/bazaar/modules/storefront/pages"
	"github.com/bazaar-shop/bazaar/modules/storefront/service"
)

// wireStorefront makes the storefront's pages: served here over the
// catalogue, inventory and payment as this process reaches them when it
// hosts the storefront, forwarded to where it runs otherwise.
func (a *App) wireStorefront() {
	if !a.cfg.Hosts(modules.Storefront) {
		a.routes[modules.Storefront] = moduleRoutes{public: pages.New(nil, nil, Now).Routes()}
		return
	}
	shop := service.New(a.catalogueFor(modules.Storefront), a.inventoryFor(modules.Storefront),
		a.paymentFor(modules.Storefront), a.log.With("module", modules.Storefront))
	a.routes[modules.Storefront] = moduleRoutes{public: pages.New(shop, a.secret, Now).Routes()}
	a.wireUp(modules.Storefront, nil) // nothing calls it: its pages are forwarded
}

// sessionKey is what signs the sessions of shoppers and of the console:
// storefront.secret; else one derived from the service token, the same in
// every replica; else, in a monolith, one made once and kept in the data
// directory, so carts and sign-ins outlive a restart.
func sessionKey(cfg config.Config) ([]byte, error) {
	derive := func(secret string) []byte {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte("bazaar storefront sessions"))
		return m.Sum(nil)
	}
	switch {
	case cfg.Storefront.Secret != "":
		return derive(cfg.Storefront.Secret), nil
	case cfg.ServiceToken != "":
		return derive(cfg.ServiceToken), nil
	}
	path := filepath.Join(cfg.DataDir, "storefront.key")
	key, err := os.ReadFile(path)
	if err == nil && len(key) == 32 {
		return key, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("storefront: read %s: %w", path, err)
	}
	key = make([]byte, 32)
	_, _ = rand.Read(key) // never fails
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("storefront: %w", err)
	}
	if err := os.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("storefront: keep the session key: %w", err)
	}
	return key, nil
}
