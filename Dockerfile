# spanmeter's image: the single executable file (`npm run build:sea`: Node and the sidecar in one
# file) on an empty base, with only the shared libraries it links, /etc/passwd with the non-root
# user 65532 and /tmp (deploy/image/rootfs.mjs). No shell, no package manager; about 40 MB
# compressed. Build it with any OCI builder:
#
#   docker build -t registry.example/spanmeter:0.1.0 .      (or: buildah bud, podman build, kaniko)
#
# Runs as 65532 and needs no write access to its root (the Helm chart mounts the config at
# /etc/spanmeter, a read-only root and an emptyDir /tmp). test/deploy/image.test.ts builds the
# last stage from the same rootfs with umoci (no daemon) and runs it with runc; the first stage
# is not run there (its base image cannot be pulled on the test machines).

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build:sea && node deploy/image/rootfs.mjs ./spanmeter /rootfs

FROM scratch
COPY --from=build /rootfs/ /
USER 65532:65532
EXPOSE 4317 4318 9464
ENTRYPOINT ["/usr/local/bin/spanmeter"]
CMD ["--otlp.grpc-endpoint", "0.0.0.0:4317", "--otlp.http-endpoint", "0.0.0.0:4318", "--http-endpoint", "0.0.0.0:9464"]
