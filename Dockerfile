# One static-ish binary on a slim base; no libpq or OpenSSL needed.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p boxoffice-server

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/boxoffice boxoffice && mkdir -p /var/lib/boxoffice \
    && chown boxoffice /var/lib/boxoffice
COPY --from=build /src/target/release/boxoffice /usr/local/bin/boxoffice
USER boxoffice
WORKDIR /var/lib/boxoffice
ENV BOXOFFICE_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["boxoffice"]
CMD ["serve"]
