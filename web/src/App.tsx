import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';

import { api, session } from './api';
import { completeSignIn, completeSilentRenew, signOut } from './auth';
import { useLive, useMarkRead, useNotifications } from './hooks';
import type { LiveStatus } from './live';
import { Dashboard } from './pages/Dashboard';
import { Inbox } from './pages/Inbox';
import { Login } from './pages/Login';
import { navigate, useLocation } from './router';

function Link({ to, children, current }: { to: string; children: React.ReactNode; current: boolean }) {
  return (
    <a
      href={to}
      aria-current={current ? 'page' : undefined}
      onClick={(e) => {
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

const LIVE_LABEL: Record<LiveStatus, string> = {
  live: 'En direct',
  connecting: 'Connexion…',
  offline: 'Hors ligne, reconnexion…',
};

function LiveIndicator({ status }: { status: LiveStatus }) {
  return (
    <p className={`live live-${status}`} role="status" data-testid="live-status" data-status={status}>
      <span className="live-dot" aria-hidden="true" /> {LIVE_LABEL[status]}
    </p>
  );
}

function NotificationsMenu() {
  const notifications = useNotifications();
  const markRead = useMarkRead();
  const [open, setOpen] = useState(false);
  const unread = notifications.data?.unread ?? 0;
  return (
    <div className="notifications">
      <button
        type="button"
        className="link"
        aria-expanded={open}
        aria-label={unread > 0 ? `Notifications, ${unread} non lue${unread > 1 ? 's' : ''}` : 'Notifications'}
        onClick={() => setOpen((o) => !o)}
      >
        🔔 Notifications
        {unread > 0 && <span className="badge unread" data-testid="unread-badge">{unread}</span>}
      </button>
      {open && (
        <ul className="notification-list" aria-label="Notifications">
          {notifications.data?.items.length === 0 && <li className="empty">Aucune notification</li>}
          {notifications.data?.items.map((n) => (
            <li key={n.id} className={n.read_at ? 'read' : 'unread'}>
              {n.title}
              {!n.read_at && (
                <button type="button" className="link" onClick={() => markRead.mutate(n.id)}>
                  Marquer comme lue
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** What only a signed-in user sees: the live feed keeps the cache in step while it is shown. */
function SignedInChrome({ me }: { me: number | null }) {
  const status = useLive(me);
  return (
    <>
      <NotificationsMenu />
      <LiveIndicator status={status} />
    </>
  );
}

/** Back from the provider: the code is exchanged, then on to the page the user was on. */
function SignInCallback({ silent }: { silent: boolean }) {
  const config = useQuery({ queryKey: ['auth-config'], queryFn: api.authConfig, staleTime: Infinity });
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const oidc = config.data?.oidc;
    if (!oidc) return;
    if (silent) {
      completeSilentRenew(oidc).catch(() => undefined);
      return;
    }
    completeSignIn(oidc)
      .then((returnTo) => {
        queryClient.clear();
        navigate(returnTo, true);
      })
      .catch((e) => setError(`Connexion impossible : ${e instanceof Error ? e.message : String(e)}`));
  }, [config.data, silent, queryClient]);
  return (
    <main className="login">
      <p role="status">Connexion…</p>
      {error && <p role="alert" className="error">{error}</p>}
    </main>
  );
}

export function App() {
  const { path } = useLocation();
  const queryClient = useQueryClient();
  const authConfig = useQuery({ queryKey: ['auth-config'], queryFn: api.authConfig, staleTime: Infinity });
  const me = useQuery({ queryKey: ['me', session.token()], queryFn: api.me, enabled: !!session.token(), retry: false });

  useEffect(() => {
    if (path === '/' || path === '') navigate('/dashboard', true);
  }, [path]);

  if (path === '/auth/callback' || path === '/auth/silent') {
    return <SignInCallback silent={path === '/auth/silent'} />;
  }
  if (!session.token() || me.isError || path === '/login') {
    return <Login onSignedIn={() => { queryClient.clear(); navigate('/dashboard'); }} />;
  }
  return (
    <div className="layout">
      <nav className="sidebar" aria-label="Navigation principale">
        <p className="brand">Relance</p>
        <Link to="/dashboard" current={path === '/dashboard'}>Tableau de bord</Link>
        <Link to="/dashboard/inbox" current={path === '/dashboard/inbox'}>Boîte de réception</Link>
        <SignedInChrome me={me.data?.id ?? null} />
        <p className="who">{me.data ? me.data.full_name : '…'}</p>
        <button
          type="button"
          className="link"
          onClick={() => {
            const oidc = authConfig.data?.oidc;
            queryClient.clear();
            if (oidc) signOut(oidc).catch(() => navigate('/login'));
            else {
              session.clear();
              navigate('/login');
            }
          }}
        >
          Se déconnecter
        </button>
      </nav>
      <main className="content">{path === '/dashboard/inbox' ? <Inbox /> : <Dashboard />}</main>
    </div>
  );
}
