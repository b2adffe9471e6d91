import type { CDPSession, Page } from 'puppeteer';
import type { DeviceProfile } from './types.js';

/**
 * Makes a tab present itself as a device before it navigates: the viewport, mobile and touch
 * emulation, and the User-Agent with matching client hints, so that the page sees the
 * `matchMedia` and `navigator` values that device would give it (a phone: coarse pointer,
 * no hover, touch points, `userAgentData.mobile`).
 */
export async function emulateDevice(page: Page, cdp: CDPSession, device: DeviceProfile, browserUserAgent: string): Promise<void> {
  // Straight through CDP on one session: puppeteer's setViewport reloads the page when mobile
  // or touch emulation changes, and the browser is launched without a default viewport so
  // that no other session overrides these.
  await Promise.all([
    cdp.send('Emulation.setDeviceMetricsOverride', {
      width: device.width,
      height: device.height,
      deviceScaleFactor: device.deviceScaleFactor,
      mobile: device.isMobile,
      screenWidth: device.width,
      screenHeight: device.height,
    }),
    cdp.send('Emulation.setTouchEmulationEnabled', { enabled: device.hasTouch, ...(device.hasTouch ? { maxTouchPoints: 5 } : {}) }),
    // Chromium's own User-Agent keeps its own client hints; one we set gets hints that match it.
    device.userAgent === undefined
      ? page.setUserAgent({ userAgent: browserUserAgent })
      : page.setUserAgent({ userAgent: device.userAgent, userAgentMetadata: clientHints(device.userAgent, device.isMobile) }),
  ]);
}

/** navigator.userAgentData and the Sec-CH-UA headers, consistent with the User-Agent string. */
function clientHints(userAgent: string, mobile: boolean) {
  const version = /Chrome\/(\d+)[.\d]*/.exec(userAgent);
  const major = version?.[1] ?? '131';
  const android = /Android ([\d.]+)/.exec(userAgent);
  return {
    brands: [
      { brand: 'Chromium', version: major },
      { brand: 'Not_A Brand', version: '24' },
    ],
    fullVersion: version?.[0].slice('Chrome/'.length) ?? `${major}.0.0.0`,
    platform: android ? 'Android' : /Windows/.test(userAgent) ? 'Windows' : /Mac OS X/.test(userAgent) ? 'macOS' : 'Linux',
    platformVersion: android?.[1] ?? '',
    architecture: mobile ? '' : 'x86',
    model: mobile ? (/; ([^;)]+) Build\//.exec(userAgent)?.[1] ?? /Android [\d.]+; ([^;)]+)\)/.exec(userAgent)?.[1] ?? '') : '',
    mobile,
  };
}
