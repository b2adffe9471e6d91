import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, onTokenRefused, token, type List, type Site } from './api.js';
import { Inspector } from './inspector.js';
import { JobPages } from './job-pages.js';
import { Overview } from './overview.js';
import { SitePage } from './site-page.js';
import { BASE, Link, Message, messageOf, navigate } from './ui.js';

/** The client route of the current location. */
function useLocation(): { path: string; search: URLSearchParams } {
  const read = () => ({ path: location.pathname.replace(/\/+$/, '') || BASE, search: new URLSearchParams(location.search) });
  const [where, setWhere] = useState(read);
  useEffect(() => {
    const update = () => setWhere(read());
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return where;
}

/** The signed-in console: the token lives in sessionStorage only (gone with the tab). */
export function App() {
  const [signedIn, setSignedIn] = useState(() => token.get() !== null);
  const [refused, setRefused] = useState<string | null>(null);
  useEffect(
    () =>
      onTokenRefused(() => {
        token.clear();
        setSignedIn(false);
        setRefused('Token refused: sign in again.');
      }),
    [],
  );
  const signOut = () => {
    token.clear();
    setSignedIn(false);
    setRefused(null);
  };
  return h(
    'div',
    { class: 'layout' },
    h(
      'header',
      { class: 'top' },
      h(Link, { to: BASE }, h('strong', null, 'rendercache')),
      h('span', { class: 'muted' }, ' console'),
      signedIn ? h('button', { type: 'button', class: 'link', onClick: signOut }, 'Sign out') : null,
    ),
    h(
      'main',
      { id: 'main' },
      signedIn
        ? h(Routes, null)
        : h(SignIn, {
            refused,
            onSignedIn: () => {
              setRefused(null);
              setSignedIn(true);
            },
          }),
    ),
  );
}

function Routes() {
  const { path, search } = useLocation();
  const parts = path.slice(BASE.length).split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'sites' && parts[1]) {
    const siteId = parts[1];
    if (parts[2] === 'jobs' && parts[3]) return h(JobPages, { siteId, jobId: parts[3], key: parts[3] });
    if (parts[2] === 'inspect') {
      const [url, variant] = [search.get('url') ?? '', search.get('variant') ?? ''];
      return h(Inspector, { siteId, url, variant, key: `${url} ${variant}` });
    }
    return h(SitePage, { siteId, key: siteId });
  }
  return h(Overview, null);
}

function SignIn(props: { refused: string | null; onSignedIn: () => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await call<List<Site>>('GET', '/sites?limit=1', { token: value.trim() });
      token.set(value.trim());
      props.onSignedIn();
      if (!location.pathname.startsWith(BASE)) navigate(BASE);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'Token refused: the service does not accept this token.' : messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return h(
    'form',
    { class: 'card signin', onSubmit: (e: Event) => void submit(e), 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in'),
    h('p', { class: 'muted' }, 'A management token (auth.tokens). It is kept in this tab only (sessionStorage).'),
    // Public in the repository anyway; what a first run with the shipped config needs.
    h(
      'p',
      { class: 'muted' },
      'First run with config/default.yaml? Its development token is dev-admin-token-change-me: replace it before exposing the service.',
    ),
    h('label', { for: 'token' }, 'Management token'),
    h('input', {
      id: 'token',
      name: 'token',
      type: 'password',
      autocomplete: 'current-password',
      required: true,
      value,
      onInput: (e: Event) => setValue((e.target as HTMLInputElement).value),
    }),
    h('button', { type: 'submit', disabled: busy || value.trim() === '' }, busy ? 'Checking…' : 'Sign in'),
    h(Message, { error: error ?? props.refused }),
  );
}
