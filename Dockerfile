# rendercache: Node LTS with Debian's Chromium headless shell, running as a non-root user.
FROM node:24-bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium-headless-shell fonts-liberation ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    PUPPETEER_SKIP_DOWNLOAD=true \
    CHROME_PATH=/usr/lib/chromium/chromium-headless-shell \
    RENDERCACHE_CONFIG=/app/config/default.yaml

WORKDIR /app
COPY package.json package-lock.json .puppeteerrc.cjs ./
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
 && npm ci --no-audit --no-fund --include=dev \
 && apt-get purge -y python3 make g++ && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-console.mjs ./scripts/
COPY src ./src
COPY config ./config
COPY demo-site ./demo-site
# NODE_ENV=production would leave out the compiler: dev dependencies are installed for the build, then pruned.
RUN npm run build && npm prune --omit=dev

RUN useradd --system --create-home --uid 10001 rendercache \
 && mkdir -p /app/data && chown rendercache:rendercache /app/data
USER rendercache

EXPOSE 3000
VOLUME ["/app/data"]
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/cli/main.js", "serve"]
