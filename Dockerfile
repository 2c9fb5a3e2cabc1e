# Builds the hotspots binary. cgo is on because H3 is a C library; the
# runtime image keeps glibc for it and tzdata for city time zones.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w" -o /out/hotspots ./cmd/hotspots

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata wget \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/hotspots hotspots
COPY --from=build /out/hotspots /usr/local/bin/hotspots
USER hotspots
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/hotspots"]
CMD ["serve"]
