import { fr } from '../../fr';

/** What the keyboard does in the inbox (`?`). */
export function KeyboardHelp({ onClose }: { onClose: () => void }) {
  const rows: [string, string][] = [
    ['j / k', fr.keys.move],
    ['e', fr.keys.done],
    ['1 / 3 / 7', fr.keys.snooze],
    ['a', fr.keys.assign],
    ['/', fr.keys.search],
    ['?', fr.keys.help],
  ];
  return (
    <aside className="help" aria-label={fr.keys.title}>
      <h2>{fr.keys.title}</h2>
      <dl>
        {rows.map(([k, what]) => (
          <div key={k}><dt><kbd>{k}</kbd></dt><dd>{what}</dd></div>
        ))}
      </dl>
      <button type="button" onClick={onClose}>{fr.common.close}</button>
    </aside>
  );
}
