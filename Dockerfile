# The journeys image: the worker (ENTRYPOINT; --role worker | api | all) and
# the starter CLI, on a small Alpine with a non-root user.
#
#   docker build -t journeys:local .      # docker compose up --build does this
#   docker run --rm --entrypoint starter journeys:local codec-key
#
# Needs BuildKit (Docker's default builder) for the cache mounts. Versions are
# pinned: the Go image is go.mod's go version (deploy/compose_test.go checks).

FROM golang:1.26.8-trixie AS build
WORKDIR /src
# Static binaries: the runtime image has musl, not glibc. SQLite is pure Go.
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/ ./worker ./starter

FROM alpine:3.24.1
# ca-certificates for the vendors' HTTPS APIs; tzdata for the customers' IANA
# time zones, which the journey schedules by.
RUN apk add --no-cache ca-certificates tzdata \
 && addgroup -S -g 10001 journeys \
 && adduser -S -D -H -u 10001 -G journeys -h /var/lib/journeys journeys \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/journeys
COPY --from=build /out/worker /out/starter /usr/local/bin/
# The shipped playbooks; docker-compose.yml mounts ./playbooks over them.
COPY playbooks/ /etc/journeys/playbooks/
# Listen on every interface of the container (the default, 127.0.0.1, is
# unreachable through a published port); the outbox (and the SQLite ledger
# when JOURNEYS_DATABASE_URL is unset) go to the data directory.
ENV JOURNEYS_HTTP_ADDR=0.0.0.0:8080 \
    JOURNEYS_DATA_DIR=/var/lib/journeys
WORKDIR /var/lib/journeys
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/worker"]
