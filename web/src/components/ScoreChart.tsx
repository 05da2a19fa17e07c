// The score over time, with each change's reason on hover. uPlot: a canvas chart of ~20 kB
// gzip with no dependencies (Chart.js is ~70 kB, Recharts with d3 over 100 kB); loaded only
// on the person page (React.lazy), so the first load does not carry it.
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import type { ScoreChange } from '../api';
import { formatDate, reasonLabel } from '../format';
import { fr } from '../fr';

function describe(change: ScoreChange): string {
  const delta = change.delta > 0 ? `+${change.delta}` : String(change.delta);
  return `${formatDate(change.occurred_at)} : ${reasonLabel(change.reason)} (${delta}) → ${change.score_after}`;
}

export default function ScoreChart({ history }: { history: ScoreChange[] }) {
  const target = useRef<HTMLDivElement>(null);
  const [hovered, setHovered] = useState<ScoreChange | null>(null);
  useEffect(() => {
    const element = target.current;
    if (!element || history.length === 0) return;
    const xs = history.map((c) => new Date(c.occurred_at).getTime() / 1000);
    const ys = history.map((c) => c.score_after);
    const width = Math.max(280, Math.min(element.clientWidth || 640, 900));
    const chart = new uPlot(
      {
        width,
        height: 220,
        legend: { show: false },
        cursor: { points: { size: 8 } },
        scales: { y: { range: (_u, _min, max) => [0, Math.max(5, max + 2)] } },
        axes: [
          { values: (_u, splits) => splits.map((s) => new Date(s * 1000).toLocaleDateString('fr-FR', { day: 'numeric', month: 'short' })) },
          {},
        ],
        series: [
          {},
          { label: fr.person.score, stroke: '#c2410c', width: 2, fill: 'rgba(194, 65, 12, 0.08)', points: { show: true, size: 6 } },
        ],
        hooks: {
          setCursor: [
            (u) => {
              const idx = u.cursor.idx;
              setHovered(idx === null || idx === undefined ? null : history[idx] ?? null);
            },
          ],
        },
      },
      [xs, ys],
      element,
    );
    return () => chart.destroy();
  }, [history]);
  if (history.length === 0) return <p className="empty">{fr.person.chartEmpty}</p>;
  return (
    <figure className="chart">
      <div ref={target} role="img" aria-label={`${fr.person.chart} : ${describe(history[history.length - 1])}`} data-testid="score-chart" />
      <figcaption aria-live="polite" data-testid="chart-hover">
        {hovered ? describe(hovered) : describe(history[history.length - 1])}
      </figcaption>
    </figure>
  );
}
