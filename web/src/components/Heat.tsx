import type { HeatLevels } from '../api';
import { heat } from '../format';

/** A score with its heat level, as the server's levels say. */
export function Heat({ score, levels }: { score: number; levels: HeatLevels }) {
  const h = heat(score, levels);
  return (
    <span className={`badge heat heat-${h.level}`} data-testid="heat">
      {h.flames && <span aria-hidden="true">{h.flames} </span>}
      {score} · {h.label}
    </span>
  );
}
