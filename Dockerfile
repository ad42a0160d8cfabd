# One image for every layout: the monolith, the gateway and each module
# service run the same binary; the environment chooses (see deploy/).
#
#   docker build -t bazaar:dev --build-arg VERSION=$(git describe --always) .
#   docker run -p 8080:8080 -v bazaar-data:/data bazaar:dev      # the monolith on SQLite
#
# It uses only what the engine's built-in builder knows (no BuildKit
# syntax), so it builds with a plain `docker build`; where no registry is
# reachable, deploy/local-images.sh makes its two base images first.

# The build and runtime stages use the same Debian release (trixie): the binary
# links glibc dynamically (cgo, for mattn/go-sqlite3), so it must not be built
# against a newer glibc than the one it runs on.
FROM golang:1.26-trixie AS build
ARG VERSION=dev
WORKDIR /src
# No layer of downloaded modules of its own: without BuildKit's cache
# mounts every build compiles the modules again anyway, which takes far
# longer than fetching them, and each extra layer of the build image costs a
# full copy on the storage drivers that have no overlays (vfs).
COPY . .
# The golang image has gcc and libc6-dev, which cgo needs for SQLite.
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/bazaar .

FROM debian:trixie-slim
# ca-certificates: PostgreSQL over TLS (sslmode=require/verify-full).
# busybox-static: one static ~1 MB binary whose wget serves the HEALTHCHECK
# below. The bazaar binary has no health subcommand, and curl would pull in
# libcurl and a dozen libraries for the same job.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates busybox-static \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && groupadd --gid 65532 bazaar \
 && useradd --uid 65532 --gid 65532 --home-dir /data --no-create-home --shell /usr/sbin/nologin bazaar \
 && mkdir /data && chown 65532:65532 /data
COPY --from=build /out/bazaar /usr/local/bin/bazaar
# SQLite files of modules without a DSN go to /data; a ./bazaar.yaml there is
# read too (or name a file with BAZAAR_CONFIG).
ENV BAZAAR_HTTP_ADDR=:8080 \
    BAZAAR_DATA_DIR=/data
WORKDIR /data
VOLUME /data
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8080
# Ready = this process's own databases answer (scope=local leaves out the
# modules it calls, which have health checks of their own). busybox wget exits
# non-zero on any non-2xx answer. Kubernetes ignores this and uses its probes.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/readyz?scope=local"]
ENTRYPOINT ["bazaar"]
CMD ["serve"]
