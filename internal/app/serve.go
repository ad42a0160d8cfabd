package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/bazaar-shop/bazaar/config"
	"github.com/bazaar-shop/bazaar/openapi"
)

// Serve runs Bazaar until ctx ends, then shuts down gracefully: it stops
// accepting connections, lets in-flight requests finish (up to
// http.shutdown_timeout), stops the background work and closes the databases.
// ready, if not nil, receives the address it listens on.
func Serve(ctx context.Context, cfg config.Config, log *slog.Logger, ready func(addr string)) error {
	doc, err := openapi.JSON()
	if err != nil {
		return err
	}
	a, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		stopWork()
		if err := a.Close(); err != nil {
			log.Error("close", "err", err)
		}
	}()
	if err := a.Start(workCtx); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Addr, err)
	}
	srv := &http.Server{
		Handler:           a.Handler(doc),
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 2)
	go func() { served <- srv.Serve(ln) }()
	servers := []*http.Server{srv}
	if cfg.Metrics.Addr != "" {
		adminLn, err := net.Listen("tcp", cfg.Metrics.Addr)
		if err != nil {
			_ = srv.Close()
			return fmt.Errorf("listen on %s (metrics.addr): %w", cfg.Metrics.Addr, err)
		}
		admin := &http.Server{Handler: a.AdminHandler(), ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout}
		servers = append(servers, admin)
		go func() { served <- admin.Serve(adminLn) }()
		log.Info("metrics and profiles are served apart", "addr", adminLn.Addr().String())
	}
	log.Info("bazaar is serving", "addr", ln.Addr().String(), "modules", cfg.Modules.Serve)
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.HTTP.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(shutdownCtx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
	}
	for range servers {
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}
