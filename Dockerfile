# dslp-bot's GitHub App (`dslp serve`) as a container image.
#
#   docker build -t dslp-bot .
#   docker run -p 3000:3000 -v dslp-data:/data \
#     -e APP_ID=123456 -e WEBHOOK_SECRET=... -e PRIVATE_KEY_PATH=/run/secrets/app.pem \
#     -v "$PWD/app.pem:/run/secrets/app.pem:ro" dslp-bot
#
# The build stage compiles the one binary; the runtime stage is Debian slim
# with CA certificates, a non-root user, the SQLite store and checkouts on
# the /data volume, and a health check on /healthz.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin dslp \
 && strip target/release/dslp

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin dslp \
 && mkdir -p /data && chown dslp /data
COPY --from=build /src/target/release/dslp /usr/local/bin/dslp
USER dslp
WORKDIR /data
VOLUME ["/data"]
ENV DATABASE_URL=sqlite:///data/dslp-bot.db \
    DSLP_DATA_DIR=/data/checkouts \
    PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["dslp", "healthcheck"]
ENTRYPOINT ["dslp"]
CMD ["serve"]
