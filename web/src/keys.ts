// Keyboard triage in the inbox: which key does what, kept pure so it is unit-tested.
export type TriageKey =
  | { kind: 'move'; by: 1 | -1 }
  | { kind: 'done' }
  | { kind: 'snooze'; days: 1 | 3 | 7 }
  | { kind: 'assign' }
  | { kind: 'search' }
  | { kind: 'help' };

/** Whether the key went to a field the user is typing in (then no shortcut applies). */
export function isTyping(target: EventTarget | null): boolean {
  if (!target || !(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  return ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

export function triageKey(event: { key: string; ctrlKey?: boolean; metaKey?: boolean; altKey?: boolean; target?: EventTarget | null }): TriageKey | null {
  if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target ?? null)) return null;
  switch (event.key) {
    case 'j':
      return { kind: 'move', by: 1 };
    case 'k':
      return { kind: 'move', by: -1 };
    case 'e':
      return { kind: 'done' };
    case '1':
      return { kind: 'snooze', days: 1 };
    case '3':
      return { kind: 'snooze', days: 3 };
    case '7':
      return { kind: 'snooze', days: 7 };
    case 'a':
      return { kind: 'assign' };
    case '/':
      return { kind: 'search' };
    case '?':
      return { kind: 'help' };
    default:
      return null;
  }
}
