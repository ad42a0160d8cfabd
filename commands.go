package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/bazaar-shop/bazaar/config"
	"github.com/bazaar-shop/bazaar/internal/app"
	"github.com/bazaar-shop/bazaar/internal/auth"
	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/migrations"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func newRootCommand(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	load := func(cmd *cobra.Command) (config.Config, *slog.Logger, error) {
		cfg, err := config.Load(cmd.Flags(), getenv)
		if err != nil {
			return cfg, nil, err
		}
		return cfg, newLogger(cfg.Log, stderr), nil
	}
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve the shop's HTTP API (the default command)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := load(cmd)
			if err != nil {
				return err
			}
			return app.Serve(cmd.Context(), cfg, log, nil)
		},
	}
	config.AddFlags(serve.Flags())
	gateway := &cobra.Command{
		Use:   "gateway",
		Short: "Serve the public API of modules that all run elsewhere (same as serve --modules none)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmd.Flags().Set("modules", "none"); err != nil {
				return err
			}
			return serve.RunE(cmd, nil)
		},
	}
	config.AddFlags(gateway.Flags())

	root := &cobra.Command{
		Use:           "bazaar",
		Short:         "An online store backend: a modular monolith that can be split into services",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE:          serve.RunE,
	}
	config.AddFlags(root.Flags())
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(serve, gateway, migrateCommand(load, stdout), keysCommand(load, stdout), versionCommand(stdout), benchCommand(stdout, stderr))
	return root
}

// newLogger writes to w: text for a person at a terminal, JSON lines for
// whatever collects the logs of a service, unless the config says which.
func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" || (cfg.Format == "auto" && !isTerminal(w)) {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

type loader func(cmd *cobra.Command) (config.Config, *slog.Logger, error)

// migrateCommand applies, rolls back or lists the migrations of every
// database (or of --module only).
func migrateCommand(load loader, stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:       "migrate up|down|status",
		Short:     "Apply (up), roll back one version (down) or list (status) the database migrations",
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		ValidArgs: []string{"up", "down", "status"},
	}
	config.AddFlags(cmd.Flags())
	module := cmd.Flags().String("module", "", "only this database: auth, webhooks, catalogue, inventory or payment")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, _, err := load(cmd)
		if err != nil {
			return err
		}
		names := append([]string{"auth"}, config.Modules...)
		if *module != "" {
			if !slices.Contains(names, *module) {
				return fmt.Errorf("--module: unknown module %q", *module)
			}
			names = []string{*module}
		}
		for _, name := range names {
			if err := migrate(cmd.Context(), args[0], name, cfg.DSN(name), stdout); err != nil {
				return err
			}
		}
		return nil
	}
	return cmd
}

func migrate(ctx context.Context, direction, module, dsn string, stdout io.Writer) error {
	db, err := database.Open(ctx, dsn)
	if err != nil {
		return fmt.Errorf("%s: %w", module, err)
	}
	defer db.Close()
	fsys, err := migrations.For(module)
	if err != nil {
		return err
	}
	p, err := db.Migrator(module, fsys)
	if err != nil {
		return err
	}
	switch direction {
	case "up":
		results, err := p.Up(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", module, err)
		}
		fmt.Fprintf(stdout, "%s: applied %d migration(s)\n", module, len(results))
	case "down":
		r, err := p.Down(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", module, err)
		}
		fmt.Fprintf(stdout, "%s: rolled back %s\n", module, r.Source.Path)
	case "status":
		statuses, err := p.Status(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", module, err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		for _, s := range statuses {
			applied := "pending"
			if !s.AppliedAt.IsZero() {
				applied = "applied " + s.AppliedAt.Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", module, s.Source.Path, applied)
		}
		return tw.Flush()
	}
	return nil
}

// keysCommand creates an API key and prints it; it is shown only this once.
func keysCommand(load loader, stdout io.Writer) *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Manage API keys"}
	create := &cobra.Command{
		Use:   "create --role admin|storefront",
		Short: "Create an API key and print it (it is shown only this once)",
		Args:  cobra.NoArgs,
	}
	config.AddFlags(create.Flags())
	role := create.Flags().String("role", "", "admin or storefront")
	_ = create.MarkFlagRequired("role")
	create.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, _, err := load(cmd)
		if err != nil {
			return err
		}
		r, err := auth.ParseRole(*role)
		if err != nil {
			return fmt.Errorf("--role must be admin or storefront")
		}
		db, err := database.Open(cmd.Context(), cfg.DSN("auth"))
		if err != nil {
			return err
		}
		defer db.Close()
		fsys, err := migrations.For("auth")
		if err != nil {
			return err
		}
		if err := db.MigrateUp(cmd.Context(), "auth", fsys); err != nil {
			return err
		}
		key, err := auth.New(db.DB, "", "", app.Now).Create(cmd.Context(), r)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", key.Secret)
		return nil
	}
	keys.AddCommand(create)
	return keys
}

func versionCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			v := version
			if info, ok := debug.ReadBuildInfo(); ok {
				for _, s := range info.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						v += " (" + s.Value[:12] + ")"
					}
				}
				v += " " + info.GoVersion
			}
			fmt.Fprintf(stdout, "bazaar %s\n", v)
		},
	}
}
