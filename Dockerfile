FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/moments-gate /usr/local/bin/moments-gate
ENV BIND=0.0.0.0:8080 LOG_FORMAT=json
EXPOSE 8080
USER nobody
ENTRYPOINT ["moments-gate"]
CMD ["serve"]
