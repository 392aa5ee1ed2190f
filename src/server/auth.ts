/**
 * ACERELAY_ADMIN_TOKEN: when set, /api, /inspector and /metrics need it, as
 * `Authorization: Bearer <token>` or an `acerelay_token` cookie (EventSource cannot send
 * headers). Compared in constant time; never logged (request logs redact both carriers).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AcerelayError } from '../errors.ts';

export const TOKEN_COOKIE = 'acerelay_token';

export function tokenFrom(req: FastifyRequest): string | null {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7).trim();
  const cookie = req.headers.cookie;
  if (typeof cookie === 'string') {
    for (const part of cookie.split(';')) {
      const [k, ...v] = part.trim().split('=');
      if (k === TOKEN_COOKIE) return decodeCookie(v.join('='));
    }
  }
  return null;
}

/** A cookie value that is not valid percent-encoding carries no token (401, not a 500). */
function decodeCookie(raw: string): string | null {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

export function tokenMatches(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A preHandler that answers 401 unless the request carries the admin token. */
export function requireToken(expected: string | undefined) {
  return async (req: FastifyRequest, _reply: FastifyReply) => {
    if (!expected) return;
    if (!tokenMatches(tokenFrom(req), expected)) throw new AcerelayError('unauthorized');
  };
}
