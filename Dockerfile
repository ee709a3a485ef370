# Build stage: the bundled SQLite and libpq need only a C compiler.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY migrations ./migrations
COPY seed ./seed
RUN cargo build --release --locked && strip target/release/plan-tracker

# Run stage: no toolchain, no shell tools beyond Debian's base, an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/plan-tracker --create-home plan-tracker
COPY --from=build /src/target/release/plan-tracker /usr/local/bin/plan-tracker
USER plan-tracker
WORKDIR /var/lib/plan-tracker
ENV BIND=0.0.0.0:8080 LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["plan-tracker"]
CMD ["serve"]
