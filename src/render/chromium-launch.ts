import fs from 'node:fs';

// How Chromium is found and started: the binary, and the flags every launch gets.

/**
 * Flags for a headless Chromium on a closed network, as root, in a container. A fresh
 * array on every launch: puppeteer removes --disable-features/--enable-features from the
 * array it is given, so a shared one would lose them from the second launch on.
 */
export function chromiumArgs(denyAllProxyUrl: string): string[] {
  return [
    ...CONTAINER_ARGS,
    '--disable-extensions',
    '--disable-default-apps',
    '--mute-audio',
    '--no-default-browser-check',
    '--disable-breakpad',
    '--dns-prefetch-disable',
    // Egress: every connection goes through rendercache's proxy (each site's context names
    // its own listener; anything outside a site's context reaches a proxy that refuses
    // all), loopback included, and nothing that a proxy cannot carry: no QUIC (HTTP/3,
    // WebTransport), no WebRTC UDP outside the proxy.
    `--proxy-server=${denyAllProxyUrl}`,
    '--proxy-bypass-list=<-loopback>',
    '--disable-quic',
    '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
    '--webrtc-ip-handling-policy=disable_non_proxied_udp',
    // One renderer per site instead of one per navigation: far less CPU in the browser process.
    '--process-per-site',
    // A new tab's first about:blank goes into a renderer already running instead of one of its
    // own that is thrown away at its first navigation (~190 ms of CPU per new tab, measured).
    // A soft limit: each browser context (a site) and each cross-site frame still gets its own.
    '--renderer-process-limit=1',
    '--disable-renderer-backgrounding',
    '--disable-background-timer-throttling',
    '--disable-backgrounding-occluded-windows',
    // WebUIOmnibox*Popup: headless Chromium is the full browser and keeps two omnibox popup
    // WebUIs in a renderer of their own for every browser context (~55 MB each).
    '--disable-features=Translate,OptimizationHints,MediaRouter,InterestFeedContentSuggestions,CalculateNativeWinOcclusion,PaintHolding,BackForwardCache,SpareRendererForSitePerProcess,WebUIOmniboxPopup,WebUIOmniboxAimPopup',
    // The network service in the browser process: one process less (~20 MB).
    '--enable-features=NetworkServiceInProcess2',
  ];
}

/**
 * What any Chromium needs to start in a container as root and on a closed network: without
 * the background-networking flags it waits on services it cannot reach.
 */
export const CONTAINER_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-dev-shm-usage',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

/** CHROME_PATH, then a system Chromium, then puppeteer's own download. */
export function resolveChromePath(configured: string | undefined): string | undefined {
  if (configured) return configured;
  for (const candidate of CHROME_CANDIDATES) {
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * System Chromium binaries, best first. Debian's headless shell is the same build without
 * the desktop browser: measured on 2 cores, ~20 pages/s at ~395 MB PSS against ~17 pages/s
 * at ~475 MB for the full browser.
 */
const CHROME_CANDIDATES = [
  '/usr/lib/chromium/chromium-headless-shell',
  '/usr/bin/chromium-headless-shell',
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
];

export const isHeadlessShell = (path: string | undefined) => path !== undefined && /headless[-_]shell/.test(path);
