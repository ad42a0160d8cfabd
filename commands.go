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
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/bazaar-shop/bazaar/config"
	"github.com/bazaar-shop/bazaar/internal/app"
	"github.com/bazaar-shop/bazaar/internal/auth"
	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/migrations"
	"github.com/bazaar-shop/bazaar/openapi"
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
	root.AddCommand(serve, gateway, migrateCommand(load, stdout), keysCommand(load, stdout), versionCommand(stdout),
		openapiCommand(stdout), benchCommand(stdout, stderr))
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
		names := config.Owners()
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

// keysCommand manages API keys in the key database of an edge (auth.dsn):
// create (the secret is shown only this once), list and revoke.
func keysCommand(load loader, stdout io.Writer) *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Manage API keys"}
	create := &cobra.Command{
		Use:   "create --role admin|storefront",
		Short: "Create an API key and print it (it is shown only this once)",
		Args:  cobra.NoArgs,
	}
	role := create.Flags().String("role", "", "admin or storefront")
	_ = create.MarkFlagRequired("role")
	create.RunE = func(cmd *cobra.Command, _ []string) error {
		r, err := auth.ParseRole(*role)
		if err != nil {
			return fmt.Errorf("--role must be admin or storefront")
		}
		return withKeys(cmd, load, func(k *auth.Keys) error {
			key, err := k.Create(cmd.Context(), r)
			if err == nil {
				fmt.Fprintf(stdout, "%s\n", key.Secret)
			}
			return err
		})
	}
	list := &cobra.Command{Use: "list", Short: "List the live API keys (never their secrets)", Args: cobra.NoArgs}
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		return withKeys(cmd, load, func(k *auth.Keys) error {
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tROLE\tCREATED\tLAST USED")
			for cursor := ""; ; {
				page, err := k.List(cmd.Context(), 100, cursor)
				if err != nil {
					return err
				}
				for _, key := range page.Data {
					used := "never"
					if key.LastUsedAt != nil {
						used = key.LastUsedAt.Format(time.DateTime)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", key.ID, key.Role, key.CreatedAt.Format(time.DateTime), used)
				}
				if cursor = page.NextCursor; cursor == "" {
					return tw.Flush()
				}
			}
		})
	}
	revoke := &cobra.Command{Use: "revoke ID", Short: "Revoke an API key: every gateway refuses it within 5 s", Args: cobra.ExactArgs(1)}
	revoke.RunE = func(cmd *cobra.Command, args []string) error {
		return withKeys(cmd, load, func(k *auth.Keys) error { return k.Revoke(cmd.Context(), args[0]) })
	}
	for _, c := range []*cobra.Command{create, list, revoke} {
		config.AddFlags(c.Flags())
		keys.AddCommand(c)
	}
	return keys
}

// withKeys opens and migrates the key database and runs f on it.
func withKeys(cmd *cobra.Command, load loader, f func(*auth.Keys) error) error {
	cfg, _, err := load(cmd)
	if err != nil {
		return err
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
	return f(auth.New(db.DB, "", "", app.Now))
}

// openapiCommand prints the OpenAPI document the server serves at
// /openapi.json: what client generators read.
func openapiCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "openapi",
		Short: "Print the OpenAPI document of the public API (as GET /openapi.json serves it)",
		Args:  cobra.NoArgs,
	}
	internal := cmd.Flags().Bool("internal", false, "the document of the module-to-module routes instead")
	cmd.RunE = func(*cobra.Command, []string) error {
		doc, err := openapi.JSON()
		if *internal {
			doc, err = openapi.InternalJSON()
		}
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, string(doc))
		return err
	}
	return cmd
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
