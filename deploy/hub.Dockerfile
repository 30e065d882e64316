# The hub (chatcode-hub) as a container image. UNTESTED: no container engine was available
# where this was written; it is the plain two-stage build, nothing more. Build from the
# repository root:
#   docker build -f deploy/hub.Dockerfile -t registry.example.com/chatcode/chatcode-hub:0.1.0 .

# Build: the workspace's Rust (rust-version 1.95), exact Cargo.lock, release profile.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p chatcode-hub

# Run: glibc and libgcc only (ring and mimalloc are linked in), as the distroless
# `nonroot` user (65532), which deploy/hub.yaml also asks for.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/chatcode-hub /usr/local/bin/chatcode-hub
USER 65532:65532
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/chatcode-hub"]
CMD ["--listen", "0.0.0.0:8081"]
