import type http from 'node:http';

export interface AuthFailure {
  status: 401 | 403;
  body: { detail: string };
  code: 'missing_token' | 'invalid_token';
}

/** The orchestrator's rule for protected endpoints: exactly `Bearer <key>`. */
export function checkAuth(req: http.IncomingMessage, apiKey: string | null): AuthFailure | null {
  if (apiKey === null) return null;
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer (.+)$/.exec(header) : null;
  if (!match) return { status: 401, body: { detail: 'missing bearer token' }, code: 'missing_token' };
  if (match[1] !== apiKey) return { status: 403, body: { detail: 'invalid token' }, code: 'invalid_token' };
  return null;
}
