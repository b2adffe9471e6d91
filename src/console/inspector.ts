import { h } from 'preact';
import { useState } from 'preact/hooks';
import { call, enc, get, hasRole, type Inspection, type JobStatus, type Site } from './api.js';
import { ProgressView, useJobProgress } from './live-progress.js';
import { BASE, Link, Message, fmtDate, messageOf, navigate, useLoad } from './ui.js';

/**
 * One page of a site: the cache entry's fields, its HTML in a sandboxed frame (no scripts,
 * opaque origin), and the visible text of the origin's raw HTML beside the rendered one.
 */
export function Inspector(props: { siteId: string; url: string; variant: string }) {
  const site = enc(props.siteId);
  const [value, setValue] = useState(props.url);
  const info = useLoad(
    () =>
      Promise.all([
        get<Site>(`/sites/${site}`),
        props.url
          ? get<Inspection>(`/sites/${site}/inspect?url=${enc(props.url)}${props.variant ? `&variant=${enc(props.variant)}` : ''}`)
          : Promise.resolve(null),
      ]),
    [props.siteId, props.url, props.variant],
  );
  const [jobId, setJobId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const live = useJobProgress(jobId, () => {
    setJobId(null);
    info.reload();
  });
  const [siteView, page] = info.data ?? [null, null];
  const rerender = async () => {
    setError(null);
    try {
      const job = await call<JobStatus>('POST', `/sites/${site}/refresh`, {
        async: true,
        body: { pages: [page ? { url: page.url, variant: page.variant } : props.url] },
      });
      setJobId(job.id);
    } catch (err) {
      setError(`Re-render: ${messageOf(err)}`);
    }
  };
  const cached = page?.cached;
  return h(
    'section',
    { 'aria-labelledby': 'inspect-title' },
    h('p', { class: 'crumbs' }, h(Link, { to: BASE }, 'Sites'), ' / ', h(Link, { to: `${BASE}/sites/${site}` }, props.siteId), ' / inspect'),
    h('h1', { id: 'inspect-title' }, 'Cache inspector'),
    h(
      'form',
      {
        class: 'toolbar',
        onSubmit: (e: Event) => {
          e.preventDefault();
          navigate(`${BASE}/sites/${site}/inspect?url=${enc(value.trim())}`);
        },
      },
      h('label', { for: 'inspect-input' }, 'Page URL or path'),
      h('input', { id: 'inspect-input', type: 'text', value, onInput: (e: Event) => setValue((e.target as HTMLInputElement).value) }),
      h('button', { type: 'submit' }, 'Inspect'),
      siteView && hasRole(siteView.role, 'Manager') && page
        ? h('button', { type: 'button', disabled: jobId !== null, onClick: () => void rerender() }, 'Re-render now')
        : null,
    ),
    h(Message, { error: info.error ?? error ?? live.error }),
    jobId ? h(ProgressView, { progress: live.progress, jobId }) : null,
    info.loading && !info.data ? h('p', { role: 'status' }, 'Loading…') : null,
    page
      ? h(
          'div',
          { class: 'inspect' },
          h('p', { class: 'url' }, page.url, h('span', { class: 'badge variant' }, page.variant)),
          h(
            'div',
            { class: 'compare' },
            h(
              'div',
              { class: 'card' },
              h('h2', null, 'Origin, no JavaScript'),
              page.origin.error
                ? h('p', { class: 'message error' }, page.origin.error)
                : h(
                    'dl',
                    null,
                    h('dt', null, 'Visible text'),
                    h('dd', { id: 'origin-text' }, `${page.origin.textLength} characters`),
                    h('dt', null, 'HTTP status'),
                    h('dd', null, String(page.origin.status)),
                    h('dt', null, 'Bytes'),
                    h('dd', null, String(page.origin.bytes)),
                  ),
            ),
            h(
              'div',
              { class: 'card' },
              h('h2', null, 'Cached render'),
              cached
                ? h(
                    'dl',
                    null,
                    h('dt', null, 'Visible text'),
                    h('dd', { id: 'rendered-text' }, `${cached.textLength} characters`),
                    h('dt', null, 'State'),
                    h('dd', null, h('span', { class: `badge ${cached.state}` }, cached.state)),
                    h('dt', null, 'Status'),
                    h('dd', null, String(cached.status)),
                    h('dt', null, 'Rendered'),
                    h('dd', null, `${fmtDate(cached.renderedAt)} (${cached.renderTimeMs} ms, ${cached.trigger})`),
                    h('dt', null, 'ETag'),
                    h('dd', { class: 'mono' }, cached.etag),
                    h('dt', null, 'Bytes'),
                    h('dd', null, String(cached.bytes)),
                    h('dt', null, 'Replayed headers'),
                    h(
                      'dd',
                      null,
                      Object.keys(cached.headers).length === 0
                        ? 'none'
                        : h(
                            'ul',
                            { class: 'mono' },
                            Object.entries(cached.headers).map(([k, v]) => h('li', null, `${k}: ${v}`)),
                          ),
                    ),
                  )
                : h('p', null, 'Not in the cache.'),
            ),
          ),
          cached
            ? h(
                'div',
                null,
                h('h2', null, 'Rendered HTML (scripts off)'),
                h('iframe', { class: 'preview', sandbox: '', srcdoc: cached.html, title: `Cached render of ${page.url}` }),
              )
            : null,
        )
      : null,
  );
}
