# syntax=docker/dockerfile:1
# Gatehouse as a container image: the self-contained single-file binary (docs/deploy.md) on the runtime-deps image,
# which has the C library, OpenSSL and CA certificates and no .NET runtime (the binary carries its own).
#
#   docker build -t gatehouse .                                        # this machine's architecture
#   docker buildx build --platform linux/arm64 -t gatehouse:arm64 .    # a Raspberry Pi's (cross-published, no emulation)
#   docker run --read-only -v gatehouse-data:/data -v ./gatehouse.yaml:/etc/gatehouse/gatehouse.yaml:ro \
#              -p 8080:8080 -p 8081:8081 gatehouse
#
# Not built on the project's machines (they have no container engine): the tests run what it packages, the published
# binary and deploy/entrypoint.sh, read-only root and non-root user included (tests/Gatehouse.Tests/Portable).

ARG DOTNET_VERSION=10.0

# Build on the build machine's own architecture and publish for the target's: a single-file publish is cross-platform.
FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
ARG TARGETARCH
WORKDIR /src
COPY . .
RUN case "$TARGETARCH" in \
      amd64) rid=linux-x64 ;; \
      arm64) rid=linux-arm64 ;; \
      *) echo "no publish profile for $TARGETARCH (docs/deploy.md: linux-x64, linux-arm64)" >&2; exit 1 ;; \
    esac \
 && dotnet publish src/Gatehouse -c Release -r "$rid" -p:PublishProfile="$rid" -o /out

FROM mcr.microsoft.com/dotnet/runtime-deps:${DOTNET_VERSION}
COPY --from=build --chmod=0755 /out/gatehouse /app/gatehouse
COPY --chmod=0755 deploy/entrypoint.sh /app/entrypoint.sh
# The one folder gatehouse writes (the store, the bundle's native library, temp files): a volume, owned by the image's
# non-root user ("app", uid $APP_UID, which the runtime-deps images define), so the root filesystem can be read-only.
RUN mkdir -p /data /etc/gatehouse && chown "$APP_UID:$APP_UID" /data
VOLUME /data
USER $APP_UID
ENV GATEHOUSE_DATA=/data \
    GATEHOUSE_HEALTH_URL=http://127.0.0.1:8081/ready
# The gateway (the config's gateway.listeners, e.g. http://*:8080) and the admin listener (/ready, /live; with --store
# the admin API); the developer portal is 8083 when run with --store.
EXPOSE 8080 8081
HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 CMD ["/app/entrypoint.sh", "health"]
ENTRYPOINT ["/app/entrypoint.sh"]
CMD ["run", "--config", "/etc/gatehouse/gatehouse.yaml", "--admin-url", "http://0.0.0.0:8081"]
