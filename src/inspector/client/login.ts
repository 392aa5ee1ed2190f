/**
 * The inspector's login: the token goes into the `acerelay_token` cookie (which EventSource
 * and fetch send by themselves), never into a URL, then the page reloads.
 */
const form = document.getElementById('ins-login') as HTMLFormElement | null;
const input = document.getElementById('ins-token') as HTMLInputElement | null;

form?.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = input?.value.trim() ?? '';
  if (!token) return;
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `acerelay_token=${encodeURIComponent(token)}; Path=/; SameSite=Strict${secure}`;
  location.reload();
});
