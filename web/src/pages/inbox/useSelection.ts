import { useEffect, useState } from 'react';

/** The inbox's selection: ids on screen, or every row matching the filter (`allMatching`).
 *  It empties whenever `resetKey` (the URL's filters) changes. */
export function useSelection(resetKey: unknown) {
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [allMatching, setAllMatching] = useState(false);
  useEffect(() => {
    setSelected(new Set());
    setAllMatching(false);
  }, [resetKey]);
  const toggle = (id: number, on: boolean) => {
    setAllMatching(false);
    setSelected((s) => {
      const next = new Set(s);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  };
  const selectPage = (ids: number[], on: boolean) => {
    setAllMatching(false);
    setSelected(on ? new Set(ids) : new Set());
  };
  const clear = () => {
    setSelected(new Set());
    setAllMatching(false);
  };
  return { selected, allMatching, setAllMatching, toggle, selectPage, clear };
}

export type Selection = ReturnType<typeof useSelection>;
