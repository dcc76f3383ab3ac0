# syntax=docker/dockerfile:1
# eci-virtual-node: the provider image. It runs provider/ and adapters/ bundled with their npm
# dependencies (stage `build`: .ci/build, i.e. tsc type-checks, rolldown bundles, tests left out),
# not the TypeScript sources under type stripping: ~60 MiB less RSS and about half the start-up
# (docs/benchmark.md, "Compiled JavaScript, fourth session" and "Restart and memory, sixth session").
# The image is production node_modules (what the bundle leaves to Node's require, e.g. gRPC) +
# dist/ (the chunks and their source maps, so stack traces name the .ts lines) + package.json
# ("type": "module" is what makes the .js files ES modules).
#
#   docker build -t eci-virtual-node:dev .                 # the runtime image (default target)
#   docker build --target verify .                         # typecheck + unit tests, no image kept
#   buildah bud -t eci-virtual-node:dev .                  # same, without a Docker engine
#
# Pin NODE_IMAGE by digest for releases (see docs/deploy.md, "Building the image").
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# --- production dependencies ------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: no dependency needs an install script at run time (all pure JavaScript).
# Type declarations, source maps and READMEs are never read at run time: ~45 % of the tree.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -iname '*.md' \) -delete \
 && npm cache clean --force

# --- optional: typecheck and unit tests inside the build (docker build --target verify .) -----
FROM ${NODE_IMAGE} AS verify
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run typecheck && npm run test:unit

# --- the bundled JavaScript, without the tests ----------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY .ci/build .ci/bundle.ts ./.ci/
COPY provider ./provider
COPY adapters ./adapters
# Type-checked against these: the sandbox subcommand imports the control-plane harness lazily. The
# bundle leaves them out; the sandbox runs from a checkout only.
COPY test/controlplane ./test/controlplane
COPY test/helpers/deadline.ts ./test/helpers/deadline.ts
RUN bash .ci/build

# --- runtime --------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# npm, npx, corepack and yarn are build tools, not needed to run. Deleting them does not shrink
# the base layers, but keeps them (and their bundled dependencies) out of the running filesystem
# that the container, exec sessions and image scanners see.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
WORKDIR /app
ENV NODE_ENV=production
# Files stay owned by root and read-only to the process (it runs as 65532 below).
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
# 65532:65532 = "nonroot" as distroless spells it; numeric so runAsNonRoot can verify it.
USER 65532:65532
# 9443 admission webhook (HTTPS), 10250 kubelet API (HTTPS), 9464 Prometheus metrics (HTTP).
EXPOSE 9443 10250 9464
# No HEALTHCHECK: Kubernetes ignores it; the Deployment probes GET /healthz and /readyz on the
# webhook port (deploy/base/deployment.yaml).
# --max-semi-space-size=16: V8's young generation (64 MiB a semi-space by default in Node 24, up
# to 128 MiB resident under load) capped at 16 MiB a semi-space: 94-125 MiB less RSS at the peak of
# 1000 pods, CPU per pod unchanged within noise (docs/benchmark.md, "Memory, third session").
# The same flags start it in bin/eci-virtual-node and in the benchmark (test/bench/systems.ts).
# dist/adapters/cli/main.js turns on source maps for our own files (why there: its comment).
ENTRYPOINT ["node", "--max-semi-space-size=16", "dist/adapters/cli/main.js"]
CMD ["run"]
