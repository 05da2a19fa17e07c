import { useEffect, useRef, useState } from 'react';

import type { Interaction } from '../../api';
import { snooze } from '../../format';
import type { useQuickAction } from '../../hooks';
import { triageKey } from '../../keys';

/** Keyboard triage over the cards on screen (j/k, e, 1/3/7, a, /, ?), off while a dialog or
 *  the detail panel is open (`paused`). */
export function useTriageKeys(items: Interaction[], action: ReturnType<typeof useQuickAction>, paused: boolean) {
  const [current, setCurrent] = useState(0);
  const [help, setHelp] = useState(false);
  const searchRef = useRef<HTMLInputElement>(null);
  const cardsRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (paused) return;
      const key = triageKey(event);
      if (!key) return;
      const item = items[current];
      const cards = () => cardsRef.current?.querySelectorAll<HTMLElement>('article.card');
      switch (key.kind) {
        case 'move': {
          const next = Math.max(0, Math.min(items.length - 1, current + key.by));
          setCurrent(next);
          cards()?.[next]?.focus();
          break;
        }
        case 'done':
          if (item && item.status !== 'done') action.mutate({ id: item.id, kind: 'status', status: 'done' });
          break;
        case 'snooze':
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
  useEffect(() => {
    if (current >= items.length && items.length > 0) setCurrent(items.length - 1);
  }, [items.length, current]);
  return { current, help, setHelp, searchRef, cardsRef };
}
