import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useReducer, useState } from 'react';
import { Link, Navigate, NavLink, Route, Routes, useLocation, useNavigate, useParams } from 'react-router';
import { z } from 'zod';

import { api, session, SIGNED_OUT_EVENT } from './api';
import type { Role } from './api';
import { completeSignIn, completeSilentRenew, safeReturnTo, signOut } from './auth';
import { fr } from './fr';
import { useLive, useMarkRead, useNotifications, useReadAll } from './hooks';
import type { LiveStatus } from './live';
import { Dashboard } from './pages/Dashboard';
import { Inbox } from './pages/Inbox';
import { LeadsPage } from './pages/LeadsPage';
import { Login } from './pages/Login';
import { NotFound } from './pages/NotFound';
import { OrganisationPage } from './pages/OrganisationPage';
import { PersonPage } from './pages/PersonPage';
import { SettingsPage } from './pages/SettingsPage';

function LiveIndicator({ status }: { status: LiveStatus }) {
  return (
    <p className={`live live-${status}`} role="status" data-testid="live-status" data-status={status}>
      <span className="live-dot" aria-hidden="true" /> {fr.live[status]}
    </p>
  );
}

function NotificationsMenu() {
  const notifications = useNotifications();
  const markRead = useMarkRead();
  const readAll = useReadAll();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const unread = notifications.data?.unread ?? 0;
  return (
    <div className="notifications">
      <button
        type="button"
        className="link"
        aria-expanded={open}
        aria-label={unread > 0 ? fr.notifications.unread(unread) : fr.notifications.title}
        onClick={() => setOpen((o) => !o)}
      >
        <span aria-hidden="true">🔔</span> {fr.notifications.title}
        {unread > 0 && <span className="badge unread" data-testid="unread-badge">{unread}</span>}
      </button>
      {open && (
        <div className="notification-panel">
          {unread > 0 && (
            <button type="button" className="link" onClick={() => readAll.mutate()}>
              {fr.notifications.readAll}
            </button>
          )}
          <ul className="notification-list" aria-label={fr.notifications.title}>
            {notifications.data?.items.length === 0 && <li className="empty">{fr.notifications.empty}</li>}
            {notifications.data?.items.map((n) => (
              <li key={n.id} className={n.read_at ? 'read' : 'unread'}>
                {n.interaction_id ? (
                  <a
                    href={`/dashboard/inbox?interaction=${n.interaction_id}`}
                    onClick={(e) => {
                      e.preventDefault();
                      if (!n.read_at) markRead.mutate(n.id);
                      setOpen(false);
                      navigate(`/dashboard/inbox?interaction=${n.interaction_id}`);
                    }}
                  >
                    {fr.notifications.text(n.kind, n.title, n.by_name)}
                  </a>
                ) : (
                  fr.notifications.text(n.kind, n.title, n.by_name)
                )}
                {!n.read_at && (
                  <button type="button" className="link" onClick={() => markRead.mutate(n.id)}>
                    {fr.notifications.markRead}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </div>
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
  const navigate = useNavigate();
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
        navigate(returnTo, { replace: true });
      })
      .catch((e) => setError(`${fr.login.failed} : ${e instanceof Error ? e.message : String(e)}`));
  }, [config.data, silent, queryClient, navigate]);
  return (
    <main className="login">
      <p role="status">{fr.login.progress}</p>
      {error && <p role="alert" className="error">{error}</p>}
    </main>
  );
}

const Id = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** Which of a manager's two inbox links the current page is (a NavLink would mark both: it
 *  matches the path, not the query). */
function teamOrMine(location: { pathname: string; search: string }): 'mine' | 'team' | null {
  if (location.pathname !== '/dashboard/inbox') return null;
  return new URLSearchParams(location.search).get('assignee') === 'me' ? 'mine' : 'team';
}

/** A page whose `:id` must be a positive integer; anything else is the not-found page. */
function WithId({ render }: { render: (id: number) => React.ReactNode }) {
  const { id } = useParams();
  const parsed = Id.safeParse(id);
  return parsed.success && /^\d+$/.test(id ?? '') ? <>{render(parsed.data)}</> : <NotFound />;
}

function Shell({ me }: { me: { id: number; full_name: string; role?: Role } | undefined }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const authConfig = useQuery({ queryKey: ['auth-config'], queryFn: api.authConfig, staleTime: Infinity });
  const inboxLink = teamOrMine(useLocation());
  return (
    <div className="layout">
      <nav className="sidebar" aria-label={fr.nav.label}>
        <p className="brand">{fr.app}</p>
        <NavLink to="/dashboard" end>{fr.nav.dashboard}</NavLink>
        {me?.role === 'manager' ? (
          <>
            {/* A manager's inbox is everyone they see: their teams' and the unassigned. */}
            <Link to="/dashboard/inbox?assignee=me" aria-current={inboxLink === 'mine' ? 'page' : undefined}>{fr.nav.mine}</Link>
            <Link to="/dashboard/inbox" aria-current={inboxLink === 'team' ? 'page' : undefined}>{fr.nav.team}</Link>
          </>
        ) : (
          <NavLink to="/dashboard/inbox">{fr.nav.inbox}</NavLink>
        )}
        <NavLink to="/leads">{fr.nav.leads}</NavLink>
        <NavLink to="/settings">{fr.nav.settings}</NavLink>
        <SignedInChrome me={me?.id ?? null} />
        <p className="who">{me ? me.full_name : '…'}</p>
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
          {fr.nav.signOut}
        </button>
      </nav>
      <main className="content">
        <Routes>
          <Route path="/dashboard" element={<Dashboard />} />
          <Route path="/dashboard/inbox" element={<Inbox />} />
          <Route path="/people/:id" element={<WithId render={(id) => <PersonPage key={id} id={id} />} />} />
          <Route path="/organisations/:id" element={<WithId render={(id) => <OrganisationPage key={id} id={id} />} />} />
          <Route path="/leads" element={<LeadsPage />} />
          <Route path="/settings" element={<SettingsPage />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
    </div>
  );
}

export function App() {
  const location = useLocation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  // The token is read from storage on every render (the OpenID callback and the silent renewal
  // write it there); `refresh` re-renders when a sign-in or sign-out changes it.
  const [, refresh] = useReducer((n: number) => n + 1, 0);
  const token = session.token();
  const [expired, setExpired] = useState(false);
  const me = useQuery({ queryKey: ['me', token], queryFn: api.me, enabled: !!token, retry: false });

  // A 401 anywhere: back to sign-in, then to this very page.
  useEffect(() => {
    const onSignedOut = () => {
      refresh();
      setExpired(true);
      const here = `${window.location.pathname}${window.location.search}`;
      if (window.location.pathname !== '/login') navigate(`/login?next=${encodeURIComponent(here)}`, { replace: true });
    };
    window.addEventListener(SIGNED_OUT_EVENT, onSignedOut);
    return () => window.removeEventListener(SIGNED_OUT_EVENT, onSignedOut);
  }, [navigate]);

  if (location.pathname === '/auth/callback' || location.pathname === '/auth/silent') {
    return <SignInCallback silent={location.pathname === '/auth/silent'} />;
  }
  if (location.pathname === '/' || location.pathname === '') return <Navigate to="/dashboard" replace />;
  if (!token || me.isError || location.pathname === '/login') {
    if (token && !me.isError && location.pathname === '/login') {
      // Already signed in: on to where the user was going.
      return <Navigate to={safeReturnTo(new URLSearchParams(location.search).get('next') ?? undefined)} replace />;
    }
    if (!token && location.pathname !== '/login') {
      return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
    }
    return (
      <Login
        expired={expired}
        onSignedIn={() => {
          queryClient.clear();
          setExpired(false);
          refresh();
          navigate(safeReturnTo(new URLSearchParams(location.search).get('next') ?? undefined), { replace: true });
        }}
      />
    );
  }
  return <Shell me={me.data} />;
}
