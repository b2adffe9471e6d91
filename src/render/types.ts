/** Everything one render needs to know about its site. */
export interface RenderPolicy {
  /** Origin of the site: always reachable, the only place the main frame may go. */
  siteOrigin: string;
  allowPrivateNetwork: boolean;
  /** The config's resource types (`ResourceType`), looked up with any type Chromium reports. */
  blockResourceTypes: ReadonlySet<string>;
  blockUrlPatterns: readonly string[];
  stripScripts: boolean;
  keepScriptTypes: string[];
  idleWindowMs: number;
  longPollAfterMs: number;
  deadlineMs: number;
  replayHeaders: readonly string[];
  /** The device the page is rendered as (the variant). */
  device: DeviceProfile;
}

/** A variant's device: `render.devices[name]`, with its name. */
export interface DeviceProfile {
  name: string;
  width: number;
  height: number;
  deviceScaleFactor: number;
  isMobile: boolean;
  hasTouch: boolean;
  /** Undefined: render.userAgent, then Chromium's own. */
  userAgent: string | undefined;
}

export type RenderFailureKind =
  | 'timeout'
  | 'browser-crashed'
  | 'chromium-error'
  | 'origin-error'
  | 'empty-body'
  | 'navigation-blocked'
  /** Rendered, but the cache store did not take the page (set by engine/render-and-store). */
  | 'store-error';

export interface RenderFailure {
  kind: RenderFailureKind;
  detail: string;
  /** The origin's status, when it answered with an error. */
  status?: number;
}

/**
 * One input of a render: the document, or a script, stylesheet, XHR or fetch that reached the
 * network and shaped the page. Short keys: a page's manifest is kept with its cache entry.
 */
export interface InputRecord {
  /** The URL; relative to the page's origin when on it. */
  u: string;
  /** The status it answered. */
  s: number;
  /** Its ETag. */
  e?: string;
  /** Its Last-Modified. */
  l?: string;
  /** A hash of its body, when it had no validator. */
  h?: string;
}

export type RenderOutcome =
  | {
      ok: true;
      status: number;
      /** Lower-case header names to replay to crawlers. */
      headers: Record<string, string>;
      html: string;
      finalUrl: string;
      renderTimeMs: number;
      /** What the page was made of, for incremental refresh; null when it cannot be revalidated (a POST, too many inputs). */
      inputs: InputRecord[] | null;
    }
  | { ok: false; failure: RenderFailure; renderTimeMs: number };
