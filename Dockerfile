# One binary on a slim base; no libpq or OpenSSL needed.
# Dependencies are built in a layer of their own (cargo-chef): a change of our code
# rebuilds only our crates.
FROM rust:1.95-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json -p boxoffice-server
COPY . .
RUN cargo build --release --locked -p boxoffice-server

FROM debian:bookworm-slim
# A fixed numeric UID/GID, so volume permissions and `runAsNonRoot` checks are stable.
RUN groupadd --system --gid 10001 boxoffice \
    && useradd --system --uid 10001 --gid 10001 --home /var/lib/boxoffice boxoffice \
    && mkdir -p /var/lib/boxoffice && chown 10001:10001 /var/lib/boxoffice \
    && apt-get update && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/boxoffice /usr/local/bin/boxoffice
USER 10001:10001
WORKDIR /var/lib/boxoffice
ENV BOXOFFICE_ADDR=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/health/ready || exit 1
ENTRYPOINT ["boxoffice"]
CMD ["serve"]
