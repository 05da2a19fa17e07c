import { useEffect, useRef, useState } from 'react';

import type { Interaction } from '../../api';
import { snooze } from '../../format';
import type { useQuickAction } from '../../hooks';
import { triageKey } from '../../keys';

/** Keyboard triage over the cards on screen (j/k, e, 1/3/7, a, /, ?), off while a dialog or
 *  the detail panel is open (`paused`). The current card is an item, not a position: a snoozed
 *  item that moves down the list stays current, so the next key acts on it; an item that
 *  leaves the list (done) hands its place to the one that slides into it. */
export function useTriageKeys(items: Interaction[], action: ReturnType<typeof useQuickAction>, paused: boolean) {
  const [cursor, setCursor] = useState<{ id: number | null; index: number }>({ id: null, index: 0 });
  const found = cursor.id === null ? -1 : items.findIndex((i) => i.id === cursor.id);
  const current = found >= 0 ? found : Math.max(0, Math.min(cursor.index, items.length - 1));
  const [help, setHelp] = useState(false);
  const searchRef = useRef<HTMLInputElement>(null);
  const cardsRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (paused) return;
      const key = triageKey(event);
      if (!key) return;
      const item = items[current];
      const follow = () => setCursor({ id: item?.id ?? null, index: current });
      const cards = () => cardsRef.current?.querySelectorAll<HTMLElement>('article.card');
      switch (key.kind) {
        case 'move': {
          const next = Math.max(0, Math.min(items.length - 1, current + key.by));
          setCursor({ id: items[next]?.id ?? null, index: next });
          cards()?.[next]?.focus();
          break;
        }
        case 'done':
          follow();
          if (item && item.status !== 'done') action.mutate({ id: item.id, kind: 'status', status: 'done' });
          break;
        case 'snooze':
          follow();
          if (item) action.mutate({ id: item.id, kind: 'next-action', nextActionAt: snooze(item.next_action_at, key.days) });
          break;
        case 'assign':
          cards()?.[current]?.querySelector<HTMLSelectElement>('select[data-role="assignee"]')?.focus();
          break;
        case 'search':
          searchRef.current?.focus();
          break;
        case 'help':
          setHelp((h) => !h);
          break;
      }
      event.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [items, current, action, paused]);
  return { current, help, setHelp, searchRef, cardsRef };
}
