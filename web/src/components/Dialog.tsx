import { useEffect, useRef, type ReactNode } from 'react';

import { fr } from '../fr';

/** A modal dialog on the native `<dialog>` (focus kept inside, Escape closes). */
export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog ref={ref} aria-label={title} onCancel={(e) => { e.preventDefault(); onClose(); }} className="dialog">
      <header className="dialog-head">
        <h2>{title}</h2>
        <button type="button" className="link" onClick={onClose}>
          {fr.common.close}
        </button>
      </header>
      {children}
    </dialog>
  );
}
