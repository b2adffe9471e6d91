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

export type RenderOutcome =
  | {
      ok: true;
      status: number;
      /** Lower-case header names to replay to crawlers. */
      headers: Record<string, string>;
      html: string;
      finalUrl: string;
      renderTimeMs: number;
    }
  | { ok: false; failure: RenderFailure; renderTimeMs: number };
