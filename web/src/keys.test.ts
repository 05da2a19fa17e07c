import { describe, expect, it } from 'vitest';

import { triageKey } from './keys';

describe('keyboard triage', () => {
  it('maps the triage keys', () => {
    expect(triageKey({ key: 'j' })).toEqual({ kind: 'move', by: 1 });
    expect(triageKey({ key: 'k' })).toEqual({ kind: 'move', by: -1 });
    expect(triageKey({ key: 'e' })).toEqual({ kind: 'done' });
    expect(triageKey({ key: '1' })).toEqual({ kind: 'snooze', days: 1 });
    expect(triageKey({ key: '3' })).toEqual({ kind: 'snooze', days: 3 });
    expect(triageKey({ key: '7' })).toEqual({ kind: 'snooze', days: 7 });
    expect(triageKey({ key: 'a' })).toEqual({ kind: 'assign' });
    expect(triageKey({ key: '/' })).toEqual({ kind: 'search' });
    expect(triageKey({ key: '?' })).toEqual({ kind: 'help' });
    expect(triageKey({ key: 'x' })).toBeNull();
    expect(triageKey({ key: '2' })).toBeNull();
  });

  it('stays out of the way while typing or with a modifier', () => {
    for (const tag of ['input', 'textarea', 'select']) {
      expect(triageKey({ key: 'e', target: document.createElement(tag) })).toBeNull();
    }
    const editable = document.createElement('div');
    editable.contentEditable = 'true';
    Object.defineProperty(editable, 'isContentEditable', { value: true });
    expect(triageKey({ key: 'e', target: editable })).toBeNull();
    expect(triageKey({ key: 'e', target: document.createElement('article') })).toEqual({ kind: 'done' });
    expect(triageKey({ key: 'j', ctrlKey: true })).toBeNull();
    expect(triageKey({ key: 'k', metaKey: true })).toBeNull();
  });
});
