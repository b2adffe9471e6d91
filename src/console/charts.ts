import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { JobFigures } from './api.js';

/** One uPlot chart over the jobs (x: job start time). */
function Chart(props: { title: string; jobs: JobFigures[]; series: Array<{ label: string; stroke: string; value: (j: JobFigures) => number | null }> }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || props.jobs.length === 0) return;
    const data: uPlot.AlignedData = [props.jobs.map((j) => Date.parse(j.startTime) / 1000), ...props.series.map((s) => props.jobs.map(s.value))];
    const width = Math.max(260, Math.min(el.clientWidth || 600, 900));
    const plot = new uPlot(
      {
        width,
        height: 220,
        series: [{}, ...props.series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, points: { show: true, size: 6 } }))],
        axes: [{}, { size: 60 }],
      },
      data,
      el,
    );
    return () => plot.destroy();
  }, [props.jobs]);
  return h(
    'figure',
    { class: 'chart' },
    h('figcaption', null, props.title),
    props.jobs.length === 0 ? h('p', { class: 'muted' }, 'No finished refresh yet.') : h('div', { ref: box, role: 'img', 'aria-label': props.title }),
  );
}

/** Render time p50/p95 per job, and pages per job, over the site's recent refresh jobs. */
export function Charts(props: { jobs: JobFigures[] }) {
  return h(
    'div',
    { class: 'charts' },
    h(Chart, {
      title: 'Render time per job (ms)',
      jobs: props.jobs,
      series: [
        { label: 'p50', stroke: '#2563eb', value: (j) => j.renderMsP50 },
        { label: 'p95', stroke: '#dc2626', value: (j) => j.renderMsP95 },
      ],
    }),
    h(Chart, {
      title: 'Pages per job',
      jobs: props.jobs,
      series: [
        { label: 'pages', stroke: '#374151', value: (j) => j.pageCount },
        { label: 'cached', stroke: '#16a34a', value: (j) => j.completedCount },
        { label: 'failed', stroke: '#dc2626', value: (j) => j.failedCount },
      ],
    }),
  );
}
