import { fr } from '../fr';

/** What failed and a way to try again: a widget never goes blank. */
export function ErrorBox({ what, error, onRetry }: { what: string; error: unknown; onRetry?: () => void }) {
  return (
    <div role="alert" className="error">
      <p>
        {what} : {error instanceof Error ? error.message : String(error)}
      </p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {fr.common.retry}
        </button>
      )}
    </div>
  );
}
