# trekmail-mcp in a container: stdio by default (`docker run -i …`), Streamable HTTP when asked
# (`docker run -p 8080:8080 … trekmail-mcp --http 0.0.0.0:8080`). See docs/http.md, "Containers".
#
# BUILDER_IMAGE builds the release binary; BASE_IMAGE is the final image: it needs glibc and the
# CA certificates (/etc/ssl/certs) and nothing else. The default, distroless cc-debian12, has
# exactly that and no shell. Any Debian 12 based image works in its place (build arguments).
ARG BUILDER_IMAGE=docker.io/library/rust:1.95-slim-bookworm
ARG BASE_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${BUILDER_IMAGE} AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p trekmail-mcp \
 && cp target/release/trekmail-mcp /trekmail-mcp

FROM ${BASE_IMAGE}
COPY --from=build /trekmail-mcp /usr/local/bin/trekmail-mcp
# Not root: the numeric id of distroless' `nonroot`, which needs no entry in /etc/passwd.
USER 65532:65532
# The HTTP port when started with --http 0.0.0.0:8080.
EXPOSE 8080
# SIGTERM drains HTTP requests in flight, then exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/trekmail-mcp"]
