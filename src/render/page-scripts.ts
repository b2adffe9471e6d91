// Code that runs inside the rendered page. Kept as plain JavaScript source so that no
// build-tool helper can leak into the page's context.

/**
 * Installed before any page script. A snapshot for crawlers never needs a live socket,
 * and an open one only keeps the page busy: in the page, WebSockets fail at once, as on a
 * network that forbids them. (Not a safety measure: workers keep theirs, and every
 * socket goes through the egress proxy like any connection.)
 */
export const DISABLE_WEBSOCKETS = `(() => {
  const Blocked = function WebSocket(url) {
    const target = new EventTarget();
    setTimeout(() => {
      target.dispatchEvent(new Event('error'));
      target.dispatchEvent(new CloseEvent('close', { code: 1006, reason: 'blocked by rendercache', wasClean: false }));
    }, 0);
    return Object.assign(target, { url: String(url), readyState: 3, send() {}, close() {}, protocol: '', extensions: '', bufferedAmount: 0, binaryType: 'blob' });
  };
  Blocked.CONNECTING = 0; Blocked.OPEN = 1; Blocked.CLOSING = 2; Blocked.CLOSED = 3;
  Object.defineProperty(window, 'WebSocket', { value: Blocked, configurable: false, writable: false });
})();`;

/**
 * Installed before any page script. Service workers outlive the render that registered
 * them and act on later ones; a snapshot never needs one, so registration fails as in a
 * browser that does not support them.
 */
export const BLOCK_SERVICE_WORKERS = `(() => {
  if (typeof ServiceWorkerContainer === 'undefined') return;
  const refuse = function register() { return Promise.reject(new DOMException('service workers are disabled while rendering', 'SecurityError')); };
  Object.defineProperty(ServiceWorkerContainer.prototype, 'register', { value: refuse, configurable: false, writable: false });
})();`;

/**
 * Installed before any page script. Counts the page's own fetch/XHR calls and body reads
 * from the moment they are made until their callbacks have run. The network alone cannot
 * tell this: on a busy machine a script's fetch can reach the network well after the
 * network went quiet, and a response can arrive well before the page has used it.
 */
export const TRACK_PAGE_WORK = `(() => {
  const open = new Map();
  let seq = 0;
  let lastSettled = performance.now();
  const begin = () => { const id = ++seq; open.set(id, performance.now()); return id; };
  // A macrotask later, so that callbacks the page chained on the promise have run.
  const end = (id) => setTimeout(() => { open.delete(id); lastSettled = performance.now(); }, 0);
  const track = (promise) => { const id = begin(); promise.then(() => end(id), () => end(id)); return promise; };
  const nativeFetch = window.fetch;
  window.fetch = function fetch() { return track(nativeFetch.apply(this, arguments)); };
  for (const name of ['json', 'text', 'arrayBuffer', 'blob', 'formData']) {
    const read = Response.prototype[name];
    Response.prototype[name] = function () { return track(read.apply(this, arguments)); };
  }
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function () {
    const id = begin();
    this.addEventListener('loadend', () => end(id), { once: true });
    return send.apply(this, arguments);
  };
  const state = (longPollAfterMs) => {
    const now = performance.now();
    let busy = 0;
    for (const startedAt of open.values()) if (now - startedAt < longPollAfterMs) busy++;
    const flag = window.prerenderReady;
    return { busy, quietMs: busy ? 0 : now - lastSettled, ready: flag === undefined ? 'unset' : flag === true ? 'ready' : 'waiting' };
  };
  Object.defineProperty(window, '__rendercacheState', { value: state, configurable: false, writable: false, enumerable: false });
})();`;

export interface PageWorkState {
  /** fetch/XHR calls and body reads still in progress (long-polls excluded). */
  busy: number;
  /** Time since the last of them settled. */
  quietMs: number;
  /** window.prerenderReady: 'unset' when the page never declared it. */
  ready: 'unset' | 'ready' | 'waiting';
}

export const readPageWork = (longPollAfterMs: number): string =>
  `window.__rendercacheState ? window.__rendercacheState(${longPollAfterMs}) : { busy: 0, quietMs: 1e9, ready: 'unset' }`;

export interface SnapshotOptions {
  stripScripts: boolean;
  keepScriptTypes: string[];
}

export interface PageSnapshot {
  html: string;
  href: string;
  statusMeta: string | null;
  headerMetas: string[];
}

/**
 * Serialises the document: open shadow roots become declarative shadow DOM, executable
 * scripts are removed (data scripts such as JSON-LD stay), and the prerender meta tags
 * are read. Returns a PageSnapshot.
 */
export const TAKE_SNAPSHOT = `(options) => {
  const roots = [];
  const collect = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) { roots.push(el.shadowRoot); collect(el.shadowRoot); }
    }
  };
  collect(document);
  if (options.stripScripts) {
    const keep = new Set(options.keepScriptTypes.map((t) => t.toLowerCase()));
    for (const root of [document, ...roots]) {
      for (const script of root.querySelectorAll('script')) {
        const type = (script.getAttribute('type') || '').trim().toLowerCase();
        if (!keep.has(type)) script.remove();
      }
    }
  }
  const statusMeta = document.querySelector('meta[name="prerender-status-code"]');
  const headerMetas = [...document.querySelectorAll('meta[name="prerender-header"]')].map((m) => m.getAttribute('content') || '');
  const root = document.documentElement;
  let html = '';
  if (root) {
    const inner = typeof root.getHTML === 'function'
      ? root.getHTML({ serializableShadowRoots: true, shadowRoots: roots })
      : root.innerHTML;
    const shell = root.cloneNode(false).outerHTML;
    const close = '</' + root.localName + '>';
    html = shell.slice(0, shell.length - close.length) + inner + close;
  }
  const dt = document.doctype;
  const doctype = dt
    ? '<!DOCTYPE ' + dt.name + (dt.publicId ? ' PUBLIC "' + dt.publicId + '"' : '') + (dt.systemId ? (dt.publicId ? '' : ' SYSTEM') + ' "' + dt.systemId + '"' : '') + '>'
    : '';
  return {
    html: doctype + html,
    href: location.href,
    statusMeta: statusMeta ? statusMeta.getAttribute('content') : null,
    headerMetas,
  };
}`;
