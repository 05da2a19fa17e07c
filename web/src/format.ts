// French labels and the small date rules of the inbox, kept pure so they are unit-tested.
import type { Interaction, Status } from './api';

export const STATUS_LABEL: Record<Status, string> = { todo: 'À faire', in_progress: 'En cours', done: 'Terminé' };
export const TYPE_LABEL: Record<Interaction['type'], { icon: string; label: string }> = {
  call: { icon: '📞', label: 'Appel' },
  email: { icon: '✉️', label: 'Email' },
  meeting: { icon: '📅', label: 'Réunion' },
  note: { icon: '📝', label: 'Note' },
};

const DAY = 24 * 3600 * 1000;

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** "Retard", "Aujourd'hui", "Dans Xj", or null without a next action. Calendar days, local. */
export function urgency(nextActionAt: string | null, now = new Date()): { label: string; tone: 'late' | 'today' | 'later' } | null {
  if (!nextActionAt) return null;
  const at = new Date(nextActionAt);
  if (at.getTime() < now.getTime()) return { label: 'Retard', tone: 'late' };
  const days = Math.round((startOfDay(at) - startOfDay(now)) / DAY);
  if (days <= 0) return { label: "Aujourd'hui", tone: 'today' };
  return { label: `Dans ${days}j`, tone: 'later' };
}

/** A snooze keeps the time of day; from an empty or past date it counts from now. */
export function snooze(nextActionAt: string | null, days: number, now = new Date()): string {
  const base = nextActionAt && new Date(nextActionAt).getTime() > now.getTime() ? new Date(nextActionAt) : new Date(now);
  base.setDate(base.getDate() + days);
  return base.toISOString();
}

/** The server's heat levels (`scoring.rules` in its configuration, sent with the hot leads). */
export type HeatLevels = { warm: number; hot: number; very_hot: number };

/** A hot lead's heat, by the levels the server counts with (a listed lead is at least warm). */
export function heat(score: number, levels: HeatLevels): { flames: string; label: string } {
  if (score >= levels.very_hot) return { flames: '🔥🔥🔥', label: 'Très chaud' };
  if (score >= levels.hot) return { flames: '🔥🔥', label: 'Chaud' };
  return { flames: '🔥', label: 'Tiède' };
}

export function formatDate(iso: string | null): string {
  if (!iso) return 'Aucune';
  return new Date(iso).toLocaleString('fr-FR', { dateStyle: 'medium', timeStyle: 'short' });
}
