// The typed Points Bank client: openapi-fetch over the types that openapi-typescript generates
// from openapi/openapi.json (src/schema.d.ts, `npm run generate`). Everything else in this
// directory (the staff helpers, the member "mini-program" and the cycle) goes through it.

import createClient from "openapi-fetch";
import type { Client, Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

/**
 * Success bodies are narrowed to JSON media types, error bodies to `application/problem+json`.
 *
 * Without this, an operation that offers several media types for one status (the QR codes:
 * `image/png`, `image/svg+xml` and `application/json`) gives `data` the union
 * `number[] | string | QrPayload` with nothing to tell the members apart. Image bodies are
 * read with `parseAs: "arrayBuffer"` (or `"text"` for SVG) instead; see `qrPng` in staff.ts.
 */
export type JsonMedia = `${string}/json`;

export type PointsBankClient = Client<paths, JsonMedia>;

/** Where the client finds the bearer token of the signed-in staff member or volunteer. */
export interface TokenSource {
  token(): string | undefined;
}

export class StaticToken implements TokenSource {
  private value: string | undefined;
  constructor(value?: string) {
    this.value = value;
  }
  set(value: string | undefined): void {
    this.value = value;
  }
  token(): string | undefined {
    return this.value;
  }
}

export interface ClientSettings {
  /** e.g. `http://127.0.0.1:8080` (no `/api/v1`: the paths in the contract carry it). */
  baseUrl: string;
  tokens: TokenSource;
  /**
   * The `fetch` to use. Node and browsers have one; a WeChat mini-program passes an adapter
   * over `wx.request` (see README.md).
   */
  fetch?: (input: Request) => Promise<Response>;
}

export function createPointsBankClient(settings: ClientSettings): PointsBankClient {
  const options: { baseUrl: string; fetch?: (input: Request) => Promise<Response> } = {
    baseUrl: settings.baseUrl,
  };
  if (settings.fetch !== undefined) {
    options.fetch = settings.fetch;
  }
  const client = createClient<paths, JsonMedia>(options);
  const auth: Middleware = {
    onRequest({ request }) {
      const token = settings.tokens.token();
      if (token !== undefined && !request.headers.has("Authorization")) {
        request.headers.set("Authorization", `Bearer ${token}`);
      }
      return request;
    },
  };
  client.use(auth);
  return client;
}

/** A refused request, with the problem the service answered (RFC 9457). */
export class ApiProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string | null;
  readonly problem: Problem | undefined;

  constructor(what: string, response: Response, problem: Problem | undefined) {
    const code = problem?.code ?? "no_problem_body";
    const detail = problem?.detail ?? response.statusText;
    super(`${what}: HTTP ${response.status} ${code}: ${detail}`);
    this.name = "ApiProblem";
    this.status = response.status;
    this.code = code;
    this.requestId = problem?.request_id ?? response.headers.get("X-Request-Id");
    this.problem = problem;
  }
}

/** Anything shaped like an openapi-fetch result. */
export interface Outcome<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * The error bodies are typed from the contract, but a status the contract does not list still
 * arrives (and then its body is whatever the service sent): check the shape at run time.
 */
export function asProblem(body: unknown): Problem | undefined {
  if (typeof body !== "object" || body === null) {
    return undefined;
  }
  const code = property(body, "code");
  const status = property(body, "status");
  const title = property(body, "title");
  const detail = property(body, "detail");
  const type = property(body, "type");
  if (
    typeof code !== "string" ||
    typeof status !== "number" ||
    typeof title !== "string" ||
    typeof detail !== "string" ||
    typeof type !== "string"
  ) {
    return undefined;
  }
  const requestId = property(body, "request_id");
  const field = property(body, "field");
  return {
    code,
    status,
    title,
    detail,
    type,
    request_id: typeof requestId === "string" ? requestId : null,
    field: typeof field === "string" ? field : null,
  };
}

/** One property of a parsed JSON object, still unchecked. */
export function property(value: object, key: string): unknown {
  return Object.getOwnPropertyDescriptor(value, key)?.value;
}

/** The body of a successful answer, or an `ApiProblem`. */
export function ok<T>(what: string, outcome: Outcome<T>): T {
  if (outcome.response.ok && outcome.data !== undefined) {
    return outcome.data;
  }
  throw new ApiProblem(what, outcome.response, asProblem(outcome.error));
}

/** For answers without a body (204). */
export function okEmpty(what: string, outcome: Outcome<unknown>): void {
  if (!outcome.response.ok) {
    throw new ApiProblem(what, outcome.response, asProblem(outcome.error));
  }
}

/** The problem of a refused request; throws if the request was not refused this way. */
export function refused(
  what: string,
  outcome: Outcome<unknown>,
  status: number,
  code: string,
): Problem {
  const problem = asProblem(outcome.error);
  if (outcome.response.status !== status || problem === undefined || problem.code !== code) {
    throw new Error(
      `${what}: expected HTTP ${status} ${code}, got HTTP ${outcome.response.status} ${
        problem === undefined ? "(no problem body)" : `${problem.code}: ${problem.detail}`
      }`,
    );
  }
  return problem;
}

/** One `Idempotency-Key` per user action; resend the same key when retrying that action. */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}
