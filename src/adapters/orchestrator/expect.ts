import { OrchestratorBadResponseError, OrchestratorHttpError } from './errors.ts';
import { detailText, type RawAnswer } from './http.ts';

/** A 2xx JSON body, or the error that says why not (5xx text, 422, garbage). */
export function expectJson(answer: RawAnswer, where: string, apiKey?: string): unknown {
  if (answer.status < 200 || answer.status >= 300) {
    throw new OrchestratorHttpError(answer.status, `${where}: ${answer.status} ${detailText(answer.json, answer.text, apiKey)}`);
  }
  if (answer.json === undefined) {
    throw new OrchestratorBadResponseError(`${where}: answer is not JSON (${answer.contentType || 'no content type'})`, answer.status);
  }
  return answer.json;
}
