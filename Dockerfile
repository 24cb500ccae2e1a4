# syntax=docker/dockerfile:1
# kube-netstat: one image for the agent, the aggregator and the CLI (ENTRYPOINT kube-netstat).
#   docker build -t kube-netstat:0.1.0 .
# The chart runs the aggregator as the image's `node` user (uid 1000) and the agent as uid 0
# with only SYS_PTRACE and DAC_READ_SEARCH (reading other processes' fd tables needs them).

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so source edits reuse this layer. --omit=peer leaves out aws-cdk-lib
# (~185 MB), a peer of the package the chart tests take helm from: the build needs neither,
# nor dependencies' install scripts.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --omit=peer
COPY buf.gen.yaml buf.yaml tsconfig.json tsconfig.build.json ./
COPY proto ./proto
COPY agent ./agent
COPY aggregator ./aggregator
COPY cli ./cli
COPY bench ./bench
# `prepare`: generate gen/ from proto/ (buf + ts-proto, all from node_modules), then compile
# agent/, aggregator/, cli/ and gen/ into dist/.
RUN npm run prepare

FROM node:20-bookworm-slim
# nsenter (util-linux): the agent reads each network namespace's ip_local_port_range through
# it; without CAP_SYS_ADMIN it cannot enter and the kernel's default range is assumed.
# netbase: /etc/services, the port names netstat-style output uses.
RUN apt-get update \
 && apt-get install -y --no-install-recommends util-linux netbase \
 && rm -rf /var/lib/apt/lists/* \
 && command -v nsenter
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
# The compiled code (gen/ is compiled into dist/gen; the bench children are not needed) and
# the launchers; package.json's "type": "module" makes dist/ ES modules.
COPY --from=build /app/dist/agent ./dist/agent
COPY --from=build /app/dist/aggregator ./dist/aggregator
COPY --from=build /app/dist/cli ./dist/cli
COPY --from=build /app/dist/gen ./dist/gen
COPY bin ./bin
USER node
ENTRYPOINT ["node", "/app/bin/kube-netstat.js"]
CMD ["--help"]
