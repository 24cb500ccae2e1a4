# kube-netstat: one image for the agent, the aggregator and the CLI (ENTRYPOINT kube-netstat).
#   docker build -t kube-netstat:0.1.0 .
#   docker build --build-arg BASE_IMAGE=IMAGE -t kube-netstat:0.1.0 .
# BASE_IMAGE: any Debian-based image with Node.js >= 20.19, npm and a `node` user (uid 1000);
# test/image.test.ts builds one offline (debootstrap + Node from the npm registry).
# The image holds exactly the npm package (`npm pack`, then `npm install --global` of that
# tarball with its shrinkwrapped production dependencies), so what users install and what the
# chart runs are one artifact. The chart runs the aggregator as `node` (uid 1000) and the agent
# as uid 0 with only SYS_PTRACE and DAC_READ_SEARCH (reading other processes' fd tables).
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
# Dependencies first, so that source edits reuse this layer. .npmrc carries the settings the
# shrinkwrap was made with (legacy-peer-deps: a test tool's unused peer is left out).
COPY package.json npm-shrinkwrap.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY README.md LICENSE buf.gen.yaml buf.yaml tsconfig.json tsconfig.build.json ./
COPY proto ./proto
COPY bin ./bin
COPY model ./model
COPY config ./config
COPY common ./common
COPY kube ./kube
COPY agent ./agent
COPY aggregator ./aggregator
COPY cli ./cli
COPY cmd ./cmd
COPY charts ./charts
# prepack generates gen/ from proto/ (buf + ts-proto, from node_modules) and compiles dist/.
RUN npm pack --pack-destination /tmp \
 && npm install --global --prefix /opt/kube-netstat --omit=dev --ignore-scripts --no-audit --no-fund /tmp/kube-netstat-*.tgz \
 && /opt/kube-netstat/bin/kube-netstat --help >/dev/null

FROM ${BASE_IMAGE}
# nsenter (util-linux): the agent reads each network namespace's ip_local_port_range through
# it; without CAP_SYS_ADMIN it cannot enter and the kernel's default range is assumed.
# netbase: /etc/services, the port names netstat-style output uses.
RUN apt-get update \
 && apt-get install -y --no-install-recommends util-linux netbase \
 && rm -rf /var/lib/apt/lists/* \
 && command -v nsenter
COPY --from=build /opt/kube-netstat /opt/kube-netstat
ENV NODE_ENV=production PATH=/opt/kube-netstat/bin:$PATH
USER node
ENTRYPOINT ["kube-netstat"]
CMD ["--help"]
