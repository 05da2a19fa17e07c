# syntax=docker/dockerfile:1.7
# One multi-stage build for every Relance service and the web app.
#   docker build --target gateway -t relance-gateway .   (also: scoring, inbox, reminder, migrate)
# Dependencies are compiled in their own layer (cargo-chef), so a source change rebuilds only
# the workspace crates. The runtime image is Debian slim with CA certificates, running as an
# unprivileged user with a read-only root filesystem in mind (it writes nothing).

ARG RUST_IMAGE=lukemathwalker/cargo-chef:latest-rust-1.95-slim-bookworm

FROM ${RUST_IMAGE} AS chef
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
# Queries are checked at build time against the committed .sqlx/ data: no database needed here.
ENV SQLX_OFFLINE=true
RUN cargo build --release --locked \
      --bin relance-gateway --bin relance-scoring --bin relance-inbox \
      --bin relance-reminder --bin relance-migrate \
 && mkdir /out \
 && cp target/release/relance-gateway target/release/relance-scoring target/release/relance-inbox \
       target/release/relance-reminder target/release/relance-migrate /out/

FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home relance
WORKDIR /app
COPY config/default.toml /app/config/default.toml
COPY --from=builder /out/ /usr/local/bin/
ENV RELANCE_CONFIG_DIR=/app/config \
    RELANCE_ENV=production \
    RELANCE__TELEMETRY__LOG_FORMAT=json
USER 10001:10001

FROM runtime AS migrate
ENTRYPOINT ["relance-migrate"]

FROM runtime AS gateway
ENV RELANCE__GATEWAY__LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["relance-gateway"]

FROM runtime AS scoring
ENV RELANCE__SCORING__LISTEN=0.0.0.0:8082
EXPOSE 8082
ENTRYPOINT ["relance-scoring"]

FROM runtime AS reminder
ENV RELANCE__REMINDER__LISTEN=0.0.0.0:8083
EXPOSE 8083
ENTRYPOINT ["relance-reminder"]

FROM runtime AS inbox
COPY --from=web /web/dist /app/web/dist
ENV RELANCE__INBOX__LISTEN=0.0.0.0:8081 \
    RELANCE__INBOX__WEB_DIR=/app/web/dist
EXPOSE 8081
ENTRYPOINT ["relance-inbox"]
