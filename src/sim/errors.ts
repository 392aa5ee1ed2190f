/** Invalid input to the control API (or to FakeEngine.setMode): answered with HTTP 400. */
export class SimInputError extends Error {
  override name = 'SimInputError';
  readonly status = 400;
}
