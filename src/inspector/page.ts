/**
 * The inspector's HTML. The page's first paint needs no open stream: the server embeds the
 * current sessions and orchestrator view as JSON, the page's script renders from it, and SSE
 * takes over from there.
 */
export const ASSET_BASE = '/inspector/assets';

/** JSON that is safe inside a <script> element (no `</script>`, no HTML comment openers). */
function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

function head(title: string, script: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${title}</title>
<link rel="stylesheet" href="${ASSET_BASE}/inspector.css">
<script type="module" src="${ASSET_BASE}/${script}"></script>
</head>`;
}

export function inspectorPage(initial: unknown): string {
  return `${head('acerelay inspector', 'inspector.js')}
<body>
<header class="top">
  <h1>acerelay <span>inspector</span></h1>
  <span id="ins-conn" class="badge tone-neutral" data-testid="connection">connecting…</span>
  <span id="ins-clock" class="muted"></span>
</header>
<noscript><p class="panel">The inspector needs JavaScript (served by acerelay itself; nothing is loaded from elsewhere).</p></noscript>
<div class="layout">
  <aside>
    <section class="panel"><h2>orchestrator</h2><div id="ins-orchestrator" data-testid="orchestrator"></div></section>
    <section class="panel" id="ins-faults-panel" hidden><h2>fault switches <small>simulator</small></h2><div id="ins-faults"></div></section>
    <section class="panel"><h2>live sessions <span id="ins-live-count" class="count"></span></h2><div id="ins-live" data-testid="live"></div></section>
    <section class="panel"><h2>finished sessions</h2><div id="ins-finished" data-testid="finished"></div></section>
  </aside>
  <main>
    <section class="panel detail-head" id="ins-detail-head"></section>
    <div class="detail">
      <div id="ins-diagrams" class="diagrams"></div>
      <section class="panel timeline-panel">
        <h2>timeline</h2>
        <div id="ins-replay" class="replay" data-testid="replay"></div>
        <ol id="ins-timeline" class="timeline" data-testid="timeline"></ol>
        <div id="ins-step" class="step"></div>
      </section>
    </div>
  </main>
</div>
<script type="application/json" id="ins-initial">${embedJson(initial)}</script>
</body>
</html>
`;
}

/** Answered with 401 when the admin token is set and the request lacks it. */
export function loginPage(rejected: boolean): string {
  return `${head('acerelay inspector — sign in', 'login.js')}
<body class="login">
<form id="ins-login" class="panel" method="post" action="#">
  <h1>acerelay <span>inspector</span></h1>
  <p>This acerelay is protected by <code>ACERELAY_ADMIN_TOKEN</code>.</p>
  <label>admin token <input type="password" id="ins-token" name="token" autocomplete="current-password" required autofocus></label>
  <button type="submit">open the inspector</button>
  ${rejected ? '<p class="tone-bad" data-testid="login-rejected">That token was not accepted.</p>' : ''}
  <p class="muted">The token is kept in a cookie for this site, never in the address.</p>
</form>
</body>
</html>
`;
}
