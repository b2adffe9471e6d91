import { h, type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Site } from './api.js';

/** The console's client routes, under /console. */
export const BASE = '/console';

/** Moves to a client route without reloading; the app re-renders on `popstate`. */
export function navigate(to: string): void {
  history.pushState(null, '', to);
  dispatchEvent(new PopStateEvent('popstate'));
}

/** A link to a client route: a real <a> (keyboard, new tab), followed in place on a plain click. */
export function Link(props: { to: string; children?: ComponentChildren; label?: string }) {
  return h(
    'a',
    {
      href: props.to,
      'aria-label': props.label,
      onClick: (event: MouseEvent) => {
        if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        navigate(props.to);
      },
    },
    props.children,
  );
}

/** An error or notice, announced to screen readers. */
export function Message(props: { error?: string | null; notice?: string | null }) {
  if (props.error) return h('p', { class: 'message error', role: 'alert' }, props.error);
  if (props.notice) return h('p', { class: 'message notice', role: 'status' }, props.notice);
  return null;
}

export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleString();
}

export function fmtSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** What a site is to crawlers, most telling first: deleted, secure, pre-render off, then offline or online. */
export function siteStatus(site: Pick<Site, 'isDeleted' | 'securityStatus' | 'prerender' | 'runtimeStatus'>): string {
  if (site.isDeleted) return 'deleted';
  if (site.securityStatus === 'secure') return 'secure';
  if (!site.prerender) return 'pre-render off';
  return site.runtimeStatus;
}

/** A badge for a site's status: only an online site is served to crawlers. */
export const SiteBadge = (props: { site: Pick<Site, 'isDeleted' | 'securityStatus' | 'prerender' | 'runtimeStatus'> }) => {
  const status = siteStatus(props.site);
  return h('span', { class: `badge ${status === 'online' ? 'online' : 'offline'}` }, status);
};

/** How long a job took (or has taken so far, while it runs). */
export function fmtTook(start: string, end: string | null): string {
  const ms = (end ? Date.parse(end) : Date.now()) - Date.parse(start);
  return Number.isNaN(ms) ? '—' : ms < 1000 ? `${ms} ms` : fmtSeconds(ms / 1000);
}

export const fmtPercent = (share: number | null | undefined): string => (share === null || share === undefined ? '—' : `${Math.round(share * 1000) / 10}%`);

/** Loads something on mount and whenever `deps` change; `reload` loads again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: string | null; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data: T | undefined; error: string | null; loading: boolean }>({ data: undefined, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (err: unknown) => live && setState((s) => ({ data: s.data, error: messageOf(err), loading: false })),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}
