import { describe, expect, it } from 'vitest';

import { fromLocalInput, localMidnight, readFilters, toApi, toLocalInput, writeFilters } from './filters';

const read = (query: string) => readFilters(new URLSearchParams(query));

describe('inbox filters in the URL', () => {
  it('reads every valid filter', () => {
    expect(read('assignee=7&team=crm-t-2&status=in_progress&due=week&type=call,email&person_id=3&organisation_id=2&from=2026-12-01&to=2026-12-08&q=lefevre')).toEqual({
      assignee: '7', team: 'crm-t-2', status: 'in_progress', due: 'week', type: 'call,email', person_id: '3', organisation_id: '2',
      from: '2026-12-01', to: '2026-12-08', q: 'lefevre',
    });
  });

  it('drops bad values instead of showing a blank select', () => {
    expect(read('assignee=bob&team=a%00b&status=later&due=soon&type=fax&person_id=0&organisation_id=-2&from=yesterday&to=2026-13-45')).toEqual({
      assignee: '', team: '', status: '', due: 'all', type: '', person_id: '', organisation_id: '', from: '', to: '', q: '',
    });
    expect(read('assignee=me').assignee).toBe('me');
    expect(read('assignee=unassigned').assignee).toBe('unassigned');
  });

  it('drops a `to` that is not after `from`, and control characters and excess from `q`', () => {
    expect(read('from=2026-12-08&to=2026-12-01')).toMatchObject({ from: '2026-12-08', to: '' });
    expect(read('q=a%00b%0Ac').q).toBe('a b c');
    expect(read(`q=${'x'.repeat(300)}`).q).toHaveLength(200);
  });

  it('writes only what differs from the defaults and keeps other parameters', () => {
    const filters = read('assignee=me&due=all&q=devis');
    expect(writeFilters(filters, new URLSearchParams('interaction=5'))).toBe('interaction=5&assignee=me&q=devis');
    expect(writeFilters(read(''))).toBe('');
  });

  it('turns calendar days into local midnights with their offset', () => {
    const at = localMidnight('2026-12-02');
    expect(at).toMatch(/^2026-12-02T00:00:00[+-]\d{2}:\d{2}$/);
    expect(new Date(at).getTime()).toBe(new Date(2026, 11, 2).getTime());
    expect(toApi(read('from=2026-12-02')).from).toBe(at);
  });

  it('converts datetime-local values both ways', () => {
    const iso = new Date(2026, 11, 2, 9, 30).toISOString();
    expect(toLocalInput(iso)).toBe('2026-12-02T09:30');
    expect(fromLocalInput('2026-12-02T09:30')).toBe(iso);
    expect(fromLocalInput('')).toBeNull();
    expect(fromLocalInput('garbage')).toBeNull();
    expect(toLocalInput(null)).toBe('');
  });
});
