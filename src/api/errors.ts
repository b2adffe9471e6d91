/**
 * Every error a client can see: one definition each (status, title, o:errorCode) and
 * one function that renders it, in the OCM error-body shape (CONTRACTS.md §1).
 */

/** The `type` of the documented Sites Management errors, exactly as in the OCM seed. */
const OCM_TYPE = 'http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1';
const RFC2616 = 'http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html';
const TYPE_BY_STATUS: Record<number, string> = {
  400: `${RFC2616}#sec10.4.1`,
  401: `${RFC2616}#sec10.4.2`,
  403: `${RFC2616}#sec10.4.4`,
  404: `${RFC2616}#sec10.4.5`,
  405: `${RFC2616}#sec10.4.6`,
  406: `${RFC2616}#sec10.4.7`,
  408: `${RFC2616}#sec10.4.9`,
  409: `${RFC2616}#sec10.4.10`,
  413: `${RFC2616}#sec10.4.14`,
  415: `${RFC2616}#sec10.4.16`,
  417: `${RFC2616}#sec10.4.18`,
  429: 'https://www.rfc-editor.org/rfc/rfc6585#section-4',
  431: 'https://www.rfc-editor.org/rfc/rfc6585#section-5',
  500: `${RFC2616}#sec10.5.1`,
  501: `${RFC2616}#sec10.5.2`,
  502: `${RFC2616}#sec10.5.3`,
  503: `${RFC2616}#sec10.5.4`,
  504: `${RFC2616}#sec10.5.5`,
};

export interface ErrorBody {
  type: string;
  title: string;
  status: string;
  detail: string;
  'o:errorCode': string;
  'o:errorPath'?: string;
  'o:errorDetails'?: ErrorBody[];
  [detailField: string]: unknown;
}

/** An error answer: status, body and any extra headers (Retry-After, WWW-Authenticate). */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(`${status} ${body.title}: ${body.detail}`);
  }
}

interface Definition {
  status: number;
  title: string;
  code: string;
  /** Documented in the OCM seed: its `type` is kept exactly as there. */
  ocm?: boolean;
}

function define(def: Definition) {
  return (detail: string, fields: Record<string, unknown> = {}, headers: Record<string, string> = {}): ApiError =>
    new ApiError(
      def.status,
      {
        type: def.ocm ? OCM_TYPE : (TYPE_BY_STATUS[def.status] ?? `${RFC2616}#sec10`),
        title: def.title,
        status: String(def.status),
        detail,
        'o:errorCode': def.code,
        ...fields,
      },
      headers,
    );
}

export const errors = {
  // Sites Management (OCM seed and CONTRACTS.md §1).
  asyncRequired: define({ status: 400, title: 'Asynchronous Processing Required', code: 'OCE-SITEMGMT-009001' }),
  siteForbidden: define({ status: 403, title: 'Site Operation Forbidden', code: 'OCE-SITEMGMT-009026', ocm: true }),
  siteNotFound: define({ status: 404, title: 'Site Not Found', code: 'OCE-SITEMGMT-009003', ocm: true }),
  siteDeleted: define({ status: 409, title: 'Site Deleted', code: 'OCE-SITEMGMT-009059', ocm: true }),
  invalidSiteStatus: define({ status: 409, title: 'Invalid Site Status', code: 'OCE-SITEMGMT-009013', ocm: true }),
  siteNotPublic: define({ status: 409, title: 'Site is not a Public Site', code: 'OCE-SITEMGMT-009091', ocm: true }),
  prerendererDisabled: define({ status: 409, title: 'Prerenderer Disabled', code: 'OCE-PRE-001001', ocm: true }),
  // General API errors (ours).
  badRequest: define({ status: 400, title: 'Bad Request', code: 'RENDERCACHE-400' }),
  unauthorized: define({ status: 401, title: 'Unauthorized', code: 'RENDERCACHE-401' }),
  notFound: define({ status: 404, title: 'Not Found', code: 'RENDERCACHE-404' }),
  jobNotFound: define({ status: 404, title: 'Job Not Found', code: 'RENDERCACHE-JOB-404' }),
  /** Sent with Allow: the methods of the resource. */
  methodNotAllowed: define({ status: 405, title: 'Method Not Allowed', code: 'RENDERCACHE-405' }),
  /** Headers or body not received within server.headersTimeoutMs, requestTimeoutMs or api.bodyReadTimeoutMs. */
  requestTimeout: define({ status: 408, title: 'Request Timeout', code: 'RENDERCACHE-408' }),
  jobConflict: define({ status: 409, title: 'Invalid Job Status', code: 'RENDERCACHE-JOB-409' }),
  payloadTooLarge: define({ status: 413, title: 'Payload Too Large', code: 'RENDERCACHE-413' }),
  unsupportedMediaType: define({ status: 415, title: 'Unsupported Media Type', code: 'RENDERCACHE-415' }),
  /** An Expect header other than 100-continue. */
  expectationFailed: define({ status: 417, title: 'Expectation Failed', code: 'RENDERCACHE-417' }),
  tooManyRequests: define({ status: 429, title: 'Too Many Requests', code: 'RENDERCACHE-429' }),
  headersTooLarge: define({ status: 431, title: 'Request Header Fields Too Large', code: 'RENDERCACHE-431' }),
  internal: define({ status: 500, title: 'Internal Server Error', code: 'RENDERCACHE-500' }),
  /** A method no resource here supports (PROPFIND, TRACE, CONNECT…). */
  notImplemented: define({ status: 501, title: 'Not Implemented', code: 'RENDERCACHE-501' }),
  storeUnavailable: define({ status: 503, title: 'Store Unavailable', code: 'RENDERCACHE-503' }),
  /**
   * Reported inside a job's status, never as an HTTP answer: the shape of a job's error; its
   * title and o:errorCode are the job error's own (jobs/job-errors), this code only for old records.
   */
  jobFailed: define({ status: 500, title: 'Job Failed', code: 'RENDERCACHE-JOB-FAILED' }),
  siteNotDeleted: define({ status: 409, title: 'Site Not Deleted', code: 'RENDERCACHE-SITE-409' }),
  // Origin restarts (ours).
  /** POST …/origin/restart for a site whose config has no `restart` block. Fields: site. */
  restartNotConfigured: define({ status: 409, title: 'Origin Restart Not Configured', code: 'RENDERCACHE-RESTART-409' }),
  /**
   * Another job holds the site: a restart while any job runs, or a refresh while a restart
   * job runs (a refresh while a refresh runs answers that refresh, as OCM does). Fields: site, job.
   */
  siteJobRunning: define({ status: 409, title: 'Site Job Running', code: 'RENDERCACHE-SITE-BUSY-409' }),
  // Crawler lookups (ours).
  malformedPageUrl: define({ status: 400, title: 'Malformed Page URL', code: 'RENDERCACHE-URL-001' }),
  unknownSite: define({ status: 404, title: 'Not a Configured Site', code: 'RENDERCACHE-URL-002' }),
  siteNotServed: define({ status: 404, title: 'Site Not Pre-rendered', code: 'RENDERCACHE-URL-003' }),
  unknownDevice: define({ status: 400, title: 'Unknown Device Variant', code: 'RENDERCACHE-DEVICE-001' }),
  lookupTokenRequired: define({ status: 401, title: 'Lookup Token Required', code: 'RENDERCACHE-LOOKUP-401' }),
  renderFailed: define({ status: 502, title: 'Render Failed', code: 'RENDERCACHE-RENDER-001' }),
  renderTimeout: define({ status: 504, title: 'Render Timed Out', code: 'RENDERCACHE-RENDER-002' }),
  renderQueueFull: define({ status: 503, title: 'Render Queue Full', code: 'RENDERCACHE-RENDER-003' }),
} as const;

/** The JSON bytes and headers of an error answer. */
export function errorResponse(error: ApiError): { status: number; headers: Record<string, string>; body: string } {
  return {
    status: error.status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...error.headers },
    body: JSON.stringify(error.body),
  };
}
