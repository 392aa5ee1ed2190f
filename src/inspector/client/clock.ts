/** The server's clock as the page knows it (its `now` minus ours, from the first paint and SSE hello). */
let skew = 0;

export function setServerNow(serverNow: number): void {
  skew = serverNow - Date.now();
}

export function now(): number {
  return Date.now() + skew;
}
