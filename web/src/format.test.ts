import { describe, expect, it } from 'vitest';

import { formatTotal, heat, shortDuration, slaCountdown, snooze, urgency } from './format';

describe('urgency', () => {
  const now = new Date(2026, 10, 24, 15, 0);
  it('labels past, today and later next actions', () => {
    expect(urgency(null, now)).toBeNull();
    expect(urgency(new Date(2026, 10, 24, 14, 0).toISOString(), now)?.label).toBe('Retard');
    expect(urgency(new Date(2026, 10, 24, 18, 0).toISOString(), now)?.label).toBe("Aujourd'hui");
    expect(urgency(new Date(2026, 10, 25, 9, 0).toISOString(), now)?.label).toBe('Dans 1j');
    expect(urgency(new Date(2026, 11, 1, 9, 0).toISOString(), now)?.label).toBe('Dans 7j');
  });
});

describe('snooze', () => {
  const now = new Date(2026, 10, 24, 15, 0);
  it('keeps the time of day of a future next action', () => {
    const at = new Date(2026, 10, 26, 9, 30);
    expect(new Date(snooze(at.toISOString(), 1, now))).toEqual(new Date(2026, 10, 27, 9, 30));
  });
  it('counts from now for an empty or past date', () => {
    expect(new Date(snooze(null, 3, now))).toEqual(new Date(2026, 10, 27, 15, 0));
    expect(new Date(snooze(new Date(2026, 10, 1).toISOString(), 7, now))).toEqual(new Date(2026, 11, 1, 15, 0));
  });
});

describe('heat', () => {
  it('has three levels, the server\'s', () => {
    const levels = { warm: 15, hot: 20, very_hot: 30 };
    expect(heat(15, levels)).toMatchObject({ flames: '🔥', label: 'Tiède' });
    expect(heat(20, levels)).toMatchObject({ flames: '🔥🔥', label: 'Chaud' });
    expect(heat(31, levels)).toMatchObject({ flames: '🔥🔥🔥', label: 'Très chaud' });
    const other = { warm: 40, hot: 60, very_hot: 90 };
    expect(heat(59, other)).toMatchObject({ flames: '🔥', label: 'Tiède' });
    expect(heat(60, other)).toMatchObject({ flames: '🔥🔥', label: 'Chaud' });
    expect(heat(14, levels)).toEqual({ flames: '', label: 'Froid', level: 'cold' });
  });
});

describe('formatTotal', () => {
  it('writes thousands as French readers do, with "+" past the exact limit', () => {
    expect(formatTotal(7)).toBe('7');
    expect(formatTotal(10000)).toBe('10\u00a0000');
    expect(formatTotal(10000, true)).toBe('10\u00a0000+');
  });
});

describe('notification texts', () => {
  it('name who assigned or changed an item, and fall back to its title', async () => {
    const { fr } = await import('./fr');
    expect(fr.notifications.text('assigned', 'Rappeler Marc', 'Alice Martin')).toBe('Alice Martin vous a assigné « Rappeler Marc »');
    expect(fr.notifications.text('changed', 'Rappeler Marc', 'Alice Martin')).toBe('Alice Martin a modifié « Rappeler Marc »');
    expect(fr.notifications.text('interaction_overdue', 'Rappeler Marc', null)).toBe('Rappeler Marc');
  });
});

describe('slaCountdown', () => {
  const now = new Date('2026-11-24T10:00:00Z');
  const hot = { status: 'todo', sla_due_at: '2026-11-24T10:35:00Z', first_touched_at: null, sla_breached_at: null };

  it('counts down to the deadline, at risk within 15 minutes', () => {
    expect(slaCountdown(hot, now)).toEqual({ label: 'Premier contact sous 35 min', tone: 'later' });
    expect(slaCountdown({ ...hot, sla_due_at: '2026-11-24T10:10:00Z' }, now)?.tone).toBe('today');
    expect(slaCountdown({ ...hot, sla_due_at: '2026-11-24T12:05:00Z' }, now)?.label).toBe('Premier contact sous 2 h 05');
  });

  it('is late past the deadline or once breached', () => {
    expect(slaCountdown({ ...hot, sla_due_at: '2026-11-24T09:00:00Z' }, now)).toEqual({
      label: 'Premier contact en retard de 1 h 00',
      tone: 'late',
    });
    expect(slaCountdown({ ...hot, sla_breached_at: '2026-11-24T10:00:00Z' }, now)?.tone).toBe('late');
  });

  it('is gone once touched, done, or without a deadline', () => {
    expect(slaCountdown({ ...hot, first_touched_at: '2026-11-24T09:50:00Z' }, now)).toBeNull();
    expect(slaCountdown({ ...hot, status: 'done' }, now)).toBeNull();
    expect(slaCountdown({ ...hot, sla_due_at: null }, now)).toBeNull();
    expect(shortDuration(3 * 24 * 3_600_000 + 5)).toBe('3 j');
  });
});
