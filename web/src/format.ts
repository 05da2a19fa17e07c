// French labels and the small date rules of the inbox, kept pure so they are unit-tested.
import type { HeatLevels, Interaction, Status } from './api';
import { fr } from './fr';

export const STATUS_LABEL: Record<Status, string> = fr.status;
export const TYPE_LABEL: Record<Interaction['type'], { icon: string; label: string }> = {
  call: { icon: '📞', label: fr.type.call },
  email: { icon: '✉️', label: fr.type.email },
  meeting: { icon: '📅', label: fr.type.meeting },
  note: { icon: '📝', label: fr.type.note },
};

const DAY = 24 * 3600 * 1000;

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** "Retard", "Aujourd'hui", "Dans Xj", or null without a next action. Calendar days, local. */
export function urgency(nextActionAt: string | null, now = new Date()): { label: string; tone: 'late' | 'today' | 'later' } | null {
  if (!nextActionAt) return null;
  const at = new Date(nextActionAt);
  if (at.getTime() < now.getTime()) return { label: fr.urgency.late, tone: 'late' };
  const days = Math.round((startOfDay(at) - startOfDay(now)) / DAY);
  if (days <= 0) return { label: fr.urgency.today, tone: 'today' };
  return { label: fr.urgency.inDays(days), tone: 'later' };
}

/** "35 min", "2 h 05", "3 j": a countdown's duration, rounded down to the minute. */
export function shortDuration(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')}`;
  return `${Math.floor(minutes / (24 * 60))} j`;
}

/** A hot lead's first-touch countdown: null once touched, done, or without a deadline; late
 * past the deadline (or once the reminder marked it breached); at risk within 15 minutes. */
export function slaCountdown(
  item: { status: string; sla_due_at?: string | null; first_touched_at?: string | null; sla_breached_at?: string | null },
  now = new Date(),
): { label: string; tone: 'late' | 'today' | 'later' } | null {
  if (!item.sla_due_at || item.first_touched_at || item.status === 'done') return null;
  const left = new Date(item.sla_due_at).getTime() - now.getTime();
  if (left <= 0 || item.sla_breached_at) return { label: fr.sla.late(shortDuration(-left)), tone: 'late' };
  return { label: fr.sla.within(shortDuration(left)), tone: left <= 15 * 60_000 ? 'today' : 'later' };
}

/** A snooze keeps the time of day; from an empty or past date it counts from now. */
export function snooze(nextActionAt: string | null, days: number, now = new Date()): string {
  const base = nextActionAt && new Date(nextActionAt).getTime() > now.getTime() ? new Date(nextActionAt) : new Date(now);
  base.setDate(base.getDate() + days);
  return base.toISOString();
}

export type { HeatLevels };

/** A score's heat, by the levels the server counts with (`scoring.rules`, sent with the data). */
export function heat(score: number, levels: HeatLevels): { flames: string; label: string; level: 'cold' | 'warm' | 'hot' | 'very_hot' } {
  if (score >= levels.very_hot) return { flames: '🔥🔥🔥', label: fr.heat.veryHot, level: 'very_hot' };
  if (score >= levels.hot) return { flames: '🔥🔥', label: fr.heat.hot, level: 'hot' };
  if (score >= levels.warm) return { flames: '🔥', label: fr.heat.warm, level: 'warm' };
  return { flames: '', label: fr.heat.cold, level: 'cold' };
}

export function formatDate(iso: string | null): string {
  if (!iso) return fr.common.none;
  return new Date(iso).toLocaleString('fr-FR', { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatDay(iso: string | null): string {
  if (!iso) return fr.common.none;
  return new Date(iso).toLocaleDateString('fr-FR', { dateStyle: 'medium' });
}

export function reasonLabel(reason: string): string {
  return fr.reasons[reason] ?? reason;
}

/** A total as French readers write it ("10 000"), with "+" when it is a lower bound. */
export function formatTotal(n: number, lowerBound = false): string {
  return `${new Intl.NumberFormat('fr-FR').format(n).replace(/\u202f/g, '\u00a0')}${lowerBound ? '+' : ''}`;
}
